import Foundation
import TensorCore
import XCTest

/// Files under Tests/NetworksTests/Fixtures/diffusion, written by Scripts/fixtures/*.py.
enum Fixture {
    static func url(_ name: String) throws -> URL {
        let base = try XCTUnwrap(Bundle.module.resourceURL).appendingPathComponent("Fixtures/diffusion")
        let url = base.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("fixture \(name) is missing: run Scripts/fixtures/make_diffusion_fixtures.py")
        }
        return url
    }

    static func data(_ name: String) throws -> Data { try Data(contentsOf: url(name)) }

    static func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(type, from: data(name))
    }

    static func json(_ name: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: data(name)) as? [String: Any])
    }
}

/// Largest |a - b| / (atol + rtol |b|); at most 1 means "within tolerance".
func toleranceRatio(_ a: [Float], _ b: [Float], atol: Float, rtol: Float) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
    var worst: Float = 0
    for i in a.indices {
        let r = abs(a[i] - b[i]) / (atol + rtol * abs(b[i]))
        if !(r <= worst) { worst = r.isNaN ? .infinity : r }
    }
    return worst
}

func assertClose(_ a: Tensor, _ b: [Float], atol: Float, rtol: Float, _ what: @autoclosure () -> String,
                 file: StaticString = #filePath, line: UInt = #line) {
    let ratio = toleranceRatio(a.scalars, b, atol: atol, rtol: rtol)
    XCTAssertLessThanOrEqual(ratio, 1, "\(what()): error ratio \(ratio) (atol \(atol), rtol \(rtol))", file: file, line: line)
}
