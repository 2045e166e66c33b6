import Foundation
import XCTest
@testable import Networks

final class GaussianNoiseTests: XCTestCase {
    /// Random123's `kat_vectors`, the three `philox4x32 10` lines.
    func testPhiloxKnownAnswers() {
        let zero = GaussianNoise.philox4x32(counter: (0, 0, 0, 0), key: (0, 0))
        XCTAssertEqual([zero.0, zero.1, zero.2, zero.3], [0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8])
        let ones = GaussianNoise.philox4x32(
            counter: (0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF), key: (0xFFFF_FFFF, 0xFFFF_FFFF))
        XCTAssertEqual([ones.0, ones.1, ones.2, ones.3], [0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD])
        let pi = GaussianNoise.philox4x32(
            counter: (0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344), key: (0xA409_3822, 0x299F_31D0))
        XCTAssertEqual([pi.0, pi.1, pi.2, pi.3], [0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1])
    }

    func testSameSeedSameStreamDifferentSeedDifferentStream() {
        var a = GaussianNoise(seed: 42), b = GaussianNoise(seed: 42), c = GaussianNoise(seed: 43)
        let ta = a.tensor(shape: [2, 3, 5]).scalars
        XCTAssertEqual(ta, b.tensor(shape: [2, 3, 5]).scalars)
        XCTAssertNotEqual(ta, c.tensor(shape: [2, 3, 5]).scalars)
        // A tensor continues the stream rather than restarting it.
        var d = GaussianNoise(seed: 42)
        let first = d.tensor(shape: [7]).scalars, rest = d.tensor(shape: [23]).scalars
        XCTAssertEqual(first + rest, ta)
    }

    func testMomentsOfStandardNormal() {
        var rng = GaussianNoise(seed: 19_260_817)
        let n = 200_000
        let xs = rng.tensor(shape: [n]).scalars.map(Double.init)
        let mean = xs.reduce(0, +) / Double(n)
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        let kurtosis = xs.reduce(0) { $0 + pow($1 - mean, 4) } / Double(n) / (variance * variance)
        // Standard errors at n = 200k: mean 0.0022, variance 0.0032, kurtosis 0.011; bounds are about 4.5 sigma.
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.015)
        XCTAssertEqual(kurtosis, 3, accuracy: 0.05)
        XCTAssertTrue(xs.allSatisfy(\.isFinite))
    }
}
