import Foundation
import TensorCore
@testable import Networks

/// Paths and fixture loading shared by the Networks tests.
enum TestSupport {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let models = repository.appendingPathComponent("Models")
    static let samples = repository.appendingPathComponent("SampleClips")

    static func fixture(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: fixtures.appendingPathComponent(name).path)
    }

    static func model(_ file: String) -> String { models.appendingPathComponent(file).path }

    /// A uint8 tensor of the fixture (stored as U8, read as floats) back as bytes.
    static func bytes(_ file: SafeTensorsFile, _ name: String) throws -> [UInt8] {
        try file.tensor(name).scalars.map { UInt8($0) }
    }

    // Loading a model takes a moment; the detectors are immutable, so tests share one of each.
    static let faceDetector = try! FaceDetector(modelPath: model(FaceDetector.modelFile))
    static let textDetector = try! TextDetector(modelPath: model(TextDetector.modelFile))

    /// Largest absolute difference and the largest value magnitude of `b`.
    static func maxDifference(_ a: Tensor, _ b: Tensor) -> (diff: Float, scale: Float) {
        let x = a.scalars, y = b.scalars
        var d: Float = 0, s: Float = 0
        for i in x.indices { d = max(d, abs(x[i] - y[i])); s = max(s, abs(y[i])) }
        return (d, s)
    }

    /// Share of the pixels of `box` (x0..<x1, y0..<y1) set in `mask`.
    static func coverage(_ mask: [UInt8], width: Int, box: (x0: Int, y0: Int, x1: Int, y1: Int)) -> Double {
        var inside = 0
        for y in box.y0..<box.y1 { for x in box.x0..<box.x1 where mask[y * width + x] != 0 { inside += 1 } }
        return Double(inside) / Double((box.x1 - box.x0) * (box.y1 - box.y0))
    }
}
