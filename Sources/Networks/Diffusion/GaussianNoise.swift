// Reproducible standard-normal noise from a seed: Philox4x32-10 (Salmon et al., SC'11, "Parallel random
// numbers: as easy as 1, 2, 3") feeding the Box-Muller transform.
// The stream is NOT torch.Generator's: a seed here does not give the numbers torch.randn gives for that seed.
// Pipelines that must match PyTorch bit for bit take the noise tensors as inputs instead.
import Foundation
import TensorCore

/// Counter-based generator of float32 N(0, 1) samples. The same seed always gives the same sequence, on
/// every platform: the transform uses only IEEE arithmetic and the libm `log`, `cos`, `sin` in double precision.
public struct GaussianNoise: Sendable {
    public let seed: UInt64
    private var counter: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    private var buffer: [Float] = []
    private var next = 0

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// The next sample.
    public mutating func sample() -> Float {
        if next == buffer.count { refill() }
        defer { next += 1 }
        return buffer[next]
    }

    /// A tensor of `shape` filled with the next samples in row-major order.
    public mutating func tensor(shape: [Int]) -> Tensor {
        var rng = self
        let t = Tensor(shape: shape) { out in
            for i in 0..<out.count { out[i] = rng.sample() }
        }
        self = rng
        return t
    }

    /// One Philox block gives four 32-bit words: two Box-Muller pairs, four samples.
    private mutating func refill() {
        let key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        let w = Self.philox4x32(counter: counter, key: key)
        advanceCounter()
        let (a0, b0) = Self.boxMuller(w.0, w.1)
        let (a1, b1) = Self.boxMuller(w.2, w.3)
        buffer = [a0, b0, a1, b1]
        next = 0
    }

    private mutating func advanceCounter() {
        var carry: Bool
        (counter.0, carry) = counter.0.addingReportingOverflow(1)
        guard carry else { return }
        (counter.1, carry) = counter.1.addingReportingOverflow(1)
        guard carry else { return }
        (counter.2, carry) = counter.2.addingReportingOverflow(1)
        guard carry else { return }
        counter.3 &+= 1
    }

    /// u in (0, 1]: never 0, so log(u) is finite.
    static func unitInterval(_ x: UInt32) -> Double { (Double(x) + 1) / 4_294_967_296.0 }

    static func boxMuller(_ x: UInt32, _ y: UInt32) -> (Float, Float) {
        let r = (-2 * log(unitInterval(x))).squareRoot()
        let theta = 2 * Double.pi * unitInterval(y)
        return (Float(r * cos(theta)), Float(r * sin(theta)))
    }

    /// Philox4x32 with 10 rounds (Random123's `philox4x32_10`).
    static func philox4x32(counter c: (UInt32, UInt32, UInt32, UInt32), key k: (UInt32, UInt32))
        -> (UInt32, UInt32, UInt32, UInt32)
    {
        var c = c
        var k = k
        for round in 0..<10 {
            if round > 0 {
                k.0 &+= 0x9E37_79B9
                k.1 &+= 0xBB67_AE85
            }
            let p0 = UInt64(0xD251_1F53) * UInt64(c.0)
            let p1 = UInt64(0xCD9E_8D57) * UInt64(c.2)
            c = (UInt32(truncatingIfNeeded: p1 >> 32) ^ c.1 ^ k.0, UInt32(truncatingIfNeeded: p1),
                 UInt32(truncatingIfNeeded: p0 >> 32) ^ c.3 ^ k.1, UInt32(truncatingIfNeeded: p0))
        }
        return c
    }
}
