import Foundation
import MediaIO
import Networks

/// Regions of one picture, per category, each already at the picture's size.
public typealias CategoryRegions = [(category: PrivacyCategory, mask: Mask)]

/// Which shipped detectors run.
public struct DetectorChoice: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let faces = DetectorChoice(rawValue: 1)
    public static let text = DetectorChoice(rawValue: 2)
    public static let all: DetectorChoice = [.faces, .text]

    /// Parses `faces,text`, `faces`, `text` or `none`.
    public init?(list: String) {
        self = []
        for item in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            switch item {
            case "faces", "face": insert(.faces)
            case "text": insert(.text)
            case "none", "": continue
            default: return nil
            }
        }
    }
}

public struct DetectorSettings: Sendable {
    public var detectors: DetectorChoice = .all
    public var face = FaceDetector.Options()
    /// Text detection brings the shorter side up to 1024 rather than rapidocr's 736: small and
    /// motion-blurred plates score under the box threshold at 736.
    public var text = TextDetector.Options(limitSideLength: 1024)
    /// Pixels added around every detected region.
    public var dilation = 2
    public init() {}
}

/// The shipped face and text detectors, loaded once and used for every picture.
public struct DetectorRegions: Sendable {
    public let settings: DetectorSettings
    let faces: FaceDetector?
    let text: TextDetector?

    public init(settings: DetectorSettings) throws {
        self.settings = settings
        faces = settings.detectors.contains(.faces) ? try FaceDetector() : nil
        text = settings.detectors.contains(.text) ? try TextDetector() : nil
    }

    public func regions(in image: RGBImage) throws -> CategoryRegions {
        var out: CategoryRegions = []
        if let faces {
            let found = try faces.detect(rgb: image.pixels, width: image.width, height: image.height, options: settings.face)
            let bits = DetectionMask.faces(found, width: image.width, height: image.height, maskScale: settings.face.maskScale)
            out.append((.face, Mask(width: image.width, height: image.height, bits: bits).dilated(by: settings.dilation)))
        }
        if let text {
            let found = try text.detect(rgb: image.pixels, width: image.width, height: image.height, options: settings.text)
            let bits = DetectionMask.text(found, width: image.width, height: image.height)
            out.append((.text, Mask(width: image.width, height: image.height, bits: bits).dilated(by: settings.dilation)))
        }
        return out
    }
}
