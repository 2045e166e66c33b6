import MediaIO

/// How the ids in a label map PNG are numbered.
public enum LabelFormat: String, CaseIterable, Codable, Sendable {
    /// Cityscapes `*_labelIds.png`: ids 0...33.
    case labelIds
    /// Cityscapes `*_labelTrainIds.png`: ids 0...18, 255 unlabeled.
    case trainIds
}

/// Per-category masks read off one label map.
public struct CategoryMasks: Sendable {
    public var masks: [(category: PrivacyCategory, mask: Mask)]
    /// With `perClass`: each Cityscapes class of a category that groups several, on its own (for per-class prompts).
    public var classes: [ClassRegion] = []

    public init(masks: [(category: PrivacyCategory, mask: Mask)]) { self.masks = masks }

    /// Every category's pixels together.
    public var union: Mask? {
        guard var u = masks.first?.mask else { return nil }
        for m in masks.dropFirst() { u = u.union(m.mask) }
        return u
    }

    /// Masks built from a label map, in the mapping's order, resized to `width`×`height`.
    /// Regions smaller than `minArea` pixels (at the label map's size) are dropped before dilation. `perClass` also
    /// fills `classes`, each class's mask made the same way.
    public init(labelMap: GrayImage, format: LabelFormat, mapping: CategoryMapping,
                width: Int, height: Int, dilation: Int = 0, minArea: Int = 0, perClass: Bool = false) {
        let toTrain = format == .labelIds ? Cityscapes.trainIdForLabelId : Array(0...255).map { UInt8($0) }
        let index = mapping.categoryIndexForTrainId
        var perCategory = mapping.classes.map { _ in Mask(width: labelMap.width, height: labelMap.height) }
        for (i, v) in labelMap.pixels.enumerated() {
            let c = index[Int(toTrain[Int(v)])]
            if c >= 0 { perCategory[c].bits[i] = 1 }
        }
        masks = zip(mapping.classes, perCategory).map { cls, m in
            (cls.category, m.removingSpecks(minArea: minArea).resized(width: width, height: height).dilated(by: dilation))
        }
        guard perClass else { return }
        for (cls, categoryMask) in zip(mapping.classes, masks) where cls.trainIds.count > 1 && !categoryMask.mask.isEmpty {
            for id in cls.trainIds {
                var m = Mask(width: labelMap.width, height: labelMap.height)
                for (i, v) in labelMap.pixels.enumerated() where toTrain[Int(v)] == id { m.bits[i] = 1 }
                guard !m.isEmpty else { continue }
                classes.append(ClassRegion(category: cls.category, className: Cityscapes.labelForTrainId[Int(id)].name,
                                           mask: m.removingSpecks(minArea: minArea).resized(width: width, height: height)
                                               .dilated(by: dilation)))
            }
        }
    }
}
