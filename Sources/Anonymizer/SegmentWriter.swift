import Foundation
import MediaIO

/// Writes what `svia segment` produces for one input: class maps in the `--masks` layout, per-category
/// masks (stills) and a colour overlay for review.
public struct SegmentWriter: Sendable {
    public let segmenter: SegmenterRegions
    public var mapping: CategoryMapping = .privacy

    public init(segmenter: SegmenterRegions) { self.segmenter = segmenter }

    public func write(_ item: JobItem) throws {
        let stem = URL(fileURLWithPath: item.output).deletingPathExtension().path
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: stem).deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        switch item.kind {
        case .image:
            let image = try StillImage.read(path: item.input)
            let map = try segmenter.trainIdMap(for: image)
            try StillImage.writeGray(map, to: stem + ".png")
            try StillImage.write(Cityscapes.overlay(map, on: image), to: stem + "_overlay.jpg")
            let masks = CategoryMasks(labelMap: map, format: .trainIds, mapping: mapping,
                                      width: image.width, height: image.height)
            for (category, mask) in masks.masks {
                try StillImage.writeGray(mask.grayImage, to: stem + "_\(category.rawValue).png")
            }
        case .video:
            try FileManager.default.createDirectory(atPath: stem, withIntermediateDirectories: true)
            var options = EncodeOptions()
            options.audio = .drop
            _ = try VideoTranscoder.run(input: item.input, output: stem + "_overlay.mp4", options: options) { frame in
                let map = try segmenter.trainIdMap(for: frame.image)
                try StillImage.writeGray(map, to: stem + String(format: "/%06d.png", frame.index))
                return Cityscapes.overlay(map, on: frame.image)
            }
        }
    }
}
