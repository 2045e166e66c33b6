/// The regions svia replaces, and which Cityscapes train classes make up each.
public enum PrivacyCategory: String, CaseIterable, Codable, Sendable {
    case person
    case vehicle
    case trafficSign = "traffic-sign"
    case road
    case building
    /// Found by the face detector rather than by segmentation.
    case face
    /// Text regions (plates, sign text, burned-in overlays), found by the text detector.
    case text

    /// The categories a segmenter produces.
    public static let segmented: [PrivacyCategory] = [.person, .vehicle, .trafficSign, .road, .building]
}

/// The pixels of one Cityscapes class (by name, e.g. `truck`) inside a category that groups several.
public struct ClassRegion: Sendable {
    public var category: PrivacyCategory
    public var className: String
    public var mask: Mask

    public init(category: PrivacyCategory, className: String, mask: Mask) {
        self.category = category
        self.className = className
        self.mask = mask
    }
}

/// Which Cityscapes train classes (0...18) fall into which category.
public struct CategoryMapping: Sendable, Equatable {
    public let name: String
    /// Categories in processing order, each with its train ids.
    public let classes: [(category: PrivacyCategory, trainIds: [UInt8])]

    public static func == (a: CategoryMapping, b: CategoryMapping) -> Bool {
        a.name == b.name && a.classes.map(\.category) == b.classes.map(\.category)
            && a.classes.map(\.trainIds) == b.classes.map(\.trainIds)
    }

    /// What a privacy tool covers: riders, two-wheelers, buses, trucks and trains included.
    public static let privacy = CategoryMapping(name: "privacy", classes: [
        (.road, [0, 1]),                   // road, sidewalk
        (.vehicle, [13, 14, 15, 16, 17, 18]),  // car, truck, bus, train, motorcycle, bicycle
        (.person, [11, 12]),               // person, rider
        (.trafficSign, [7, 6]),            // traffic sign, traffic light
        (.building, [2, 3, 4]),            // building, wall, fence
    ])

    /// The SVIA reference's narrow list, in its order: road, car, person, traffic sign, building.
    public static let paper = CategoryMapping(name: "paper", classes: [
        (.road, [0]),
        (.vehicle, [13]),
        (.person, [11]),
        (.trafficSign, [7]),
        (.building, [2]),
    ])

    public static func named(_ name: String) -> CategoryMapping? {
        [privacy, paper].first { $0.name == name }
    }

    /// The mapping restricted to `categories` (order kept).
    public func restricted(to categories: Set<PrivacyCategory>) -> CategoryMapping {
        CategoryMapping(name: name, classes: classes.filter { categories.contains($0.category) })
    }

    /// trainId → index into `classes`, or -1 for classes that are kept.
    public var categoryIndexForTrainId: [Int] {
        var t = [Int](repeating: -1, count: 256)
        for (i, c) in classes.enumerated() { for id in c.trainIds { t[Int(id)] = i } }
        return t
    }
}
