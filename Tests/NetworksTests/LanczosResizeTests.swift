import Foundation
import MediaIO
import Testing

/// `RGBImage.resizedLanczos` against Pillow 11.0.0's `Image.resize(LANCZOS)` on odd sizes (fixture written by
/// Scripts/fixtures/make_lanczos_fixtures.py).
@Suite struct LanczosResizeTests {
    struct Case: Decodable {
        let source: [Int]
        let target: [Int]
        let input: [UInt8]
        let output: [UInt8]
    }
    struct File: Decodable {
        let pillow: String
        let cases: [Case]
    }

    @Test func matchesPillowWithinOneLevel() throws {
        let url = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/resize/pil_lanczos.json")
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        #expect(file.pillow == "11.0.0")
        #expect(file.cases.count >= 6)
        for c in file.cases {
            let image = RGBImage(width: c.source[0], height: c.source[1], pixels: c.input)
            let out = image.resizedLanczos(width: c.target[0], height: c.target[1])
            #expect(out.width == c.target[0] && out.height == c.target[1])
            var worst = 0, exact = 0
            for (a, b) in zip(out.pixels, c.output) {
                let d = abs(Int(a) - Int(b))
                worst = max(worst, d)
                if d == 0 { exact += 1 }
            }
            // Same fixed-point arithmetic as Pillow: only a sin() rounding on a weight could move a byte by one.
            #expect(worst <= 1, "\(c.source) -> \(c.target): worst difference \(worst)")
            #expect(Double(exact) / Double(c.output.count) > 0.99, "\(c.source) -> \(c.target)")
        }
    }
}
