/// Cityscapes label definitions (the `labels.py` of the cityscapesScripts package): the 34 `labelIds`
/// written in `*_labelIds.png`, the 19 `trainIds` that segmenters predict (255 = ignored), and colours.
public enum Cityscapes {
    public struct Label: Sendable {
        public let name: String
        public let id: UInt8
        public let trainId: UInt8
        public let color: (UInt8, UInt8, UInt8)
    }

    public static let labels: [Label] = [
        .init(name: "unlabeled", id: 0, trainId: 255, color: (0, 0, 0)),
        .init(name: "ego vehicle", id: 1, trainId: 255, color: (0, 0, 0)),
        .init(name: "rectification border", id: 2, trainId: 255, color: (0, 0, 0)),
        .init(name: "out of roi", id: 3, trainId: 255, color: (0, 0, 0)),
        .init(name: "static", id: 4, trainId: 255, color: (0, 0, 0)),
        .init(name: "dynamic", id: 5, trainId: 255, color: (111, 74, 0)),
        .init(name: "ground", id: 6, trainId: 255, color: (81, 0, 81)),
        .init(name: "road", id: 7, trainId: 0, color: (128, 64, 128)),
        .init(name: "sidewalk", id: 8, trainId: 1, color: (244, 35, 232)),
        .init(name: "parking", id: 9, trainId: 255, color: (250, 170, 160)),
        .init(name: "rail track", id: 10, trainId: 255, color: (230, 150, 140)),
        .init(name: "building", id: 11, trainId: 2, color: (70, 70, 70)),
        .init(name: "wall", id: 12, trainId: 3, color: (102, 102, 156)),
        .init(name: "fence", id: 13, trainId: 4, color: (190, 153, 153)),
        .init(name: "guard rail", id: 14, trainId: 255, color: (180, 165, 180)),
        .init(name: "bridge", id: 15, trainId: 255, color: (150, 100, 100)),
        .init(name: "tunnel", id: 16, trainId: 255, color: (150, 120, 90)),
        .init(name: "pole", id: 17, trainId: 5, color: (153, 153, 153)),
        .init(name: "polegroup", id: 18, trainId: 255, color: (153, 153, 153)),
        .init(name: "traffic light", id: 19, trainId: 6, color: (250, 170, 30)),
        .init(name: "traffic sign", id: 20, trainId: 7, color: (220, 220, 0)),
        .init(name: "vegetation", id: 21, trainId: 8, color: (107, 142, 35)),
        .init(name: "terrain", id: 22, trainId: 9, color: (152, 251, 152)),
        .init(name: "sky", id: 23, trainId: 10, color: (70, 130, 180)),
        .init(name: "person", id: 24, trainId: 11, color: (220, 20, 60)),
        .init(name: "rider", id: 25, trainId: 12, color: (255, 0, 0)),
        .init(name: "car", id: 26, trainId: 13, color: (0, 0, 142)),
        .init(name: "truck", id: 27, trainId: 14, color: (0, 0, 70)),
        .init(name: "bus", id: 28, trainId: 15, color: (0, 60, 100)),
        .init(name: "caravan", id: 29, trainId: 255, color: (0, 0, 90)),
        .init(name: "trailer", id: 30, trainId: 255, color: (0, 0, 110)),
        .init(name: "train", id: 31, trainId: 16, color: (0, 80, 100)),
        .init(name: "motorcycle", id: 32, trainId: 17, color: (0, 0, 230)),
        .init(name: "bicycle", id: 33, trainId: 18, color: (119, 11, 32)),
    ]

    /// labelId → trainId (255 for ignored and unknown ids).
    public static let trainIdForLabelId: [UInt8] = {
        var t = [UInt8](repeating: 255, count: 256)
        for l in labels { t[Int(l.id)] = l.trainId }
        return t
    }()

    /// trainId (0...18) → the label carrying it.
    public static let labelForTrainId: [Label] = {
        labels.filter { $0.trainId != 255 }.sorted { $0.trainId < $1.trainId }
    }()
}
