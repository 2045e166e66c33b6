import Foundation
@testable import TensorCore

/// Paths to committed fixtures and scratch files for the tests.
enum Fixtures {
    static let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Opens a fixture written by Scripts/fixtures/make_tensorcore_fixtures.py.
    static func open(_ name: String) throws -> SafeTensorsFile { try SafeTensorsFile(path: path(name)) }

    /// A fresh empty folder under the system's temporary directory.
    static func scratchFolder() throws -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("svia-tensorcore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}

/// Largest |a - b| over all elements (shapes must match).
func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "maxAbsDifference: \(a.shape) vs \(b.shape)")
    return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Deterministic pseudo-random values in [-scale, scale) for naive-twin comparisons.
func randomTensor(_ shape: [Int], seed: UInt64 = 42, scale: Float = 1) -> Tensor {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return Tensor(shape: shape) { buf in
        for i in buf.indices {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            buf[i] = (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }
}
