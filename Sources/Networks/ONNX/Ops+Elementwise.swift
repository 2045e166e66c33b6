import Foundation
import TensorCore

/// A per-element function with constant parameters; a chain of them runs in one pass over memory.
enum PointwiseOp: Sendable, Equatable {
    /// x·scale + shift
    case affine(scale: Float, shift: Float)
    /// x·scale[c] + shift[c] for channel c of an NCHW tensor.
    case channelAffine(scale: [Float], shift: [Float])
    case relu
    case sigmoid
    /// max(0, min(1, alpha·x + beta))
    case hardSigmoid(alpha: Float, beta: Float)
    /// x · min(max(x + 3, 0), 6) / 6, the form exporters write as Add, Clip, Mul, Div.
    case hardSwish
    case clip(min: Float, max: Float)

    @inline(__always)
    func apply(_ x: Float) -> Float {
        switch self {
        case let .affine(scale, shift): return x * scale + shift
        case .channelAffine: preconditionFailure("channelAffine needs the channel")
        case .relu: return x > 0 ? x : (x.isNaN ? x : 0)
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case let .hardSigmoid(alpha, beta): return Swift.max(0, Swift.min(1, alpha * x + beta))
        case .hardSwish: return x * Swift.min(Swift.max(x + 3, 0), 6) / 6
        case let .clip(lo, hi): return Swift.min(Swift.max(x, lo), hi)
        }
    }

    /// Applies `ops` in order to `count` elements at `p`, which belong to channel `channel` (if known).
    static func run(_ ops: [PointwiseOp], _ p: UnsafeMutablePointer<Float>, count: Int, channel: Int) {
        for op in ops {
            switch op {
            case let .affine(scale, shift):
                for i in 0..<count { p[i] = p[i] * scale + shift }
            case let .channelAffine(scale, shift):
                let s = scale[channel], b = shift[channel]
                for i in 0..<count { p[i] = p[i] * s + b }
            case .relu:
                for i in 0..<count where p[i] < 0 { p[i] = 0 }
            case let .clip(lo, hi):
                for i in 0..<count { p[i] = Swift.min(Swift.max(p[i], lo), hi) }
            case let .hardSigmoid(alpha, beta):
                for i in 0..<count { p[i] = Swift.max(0, Swift.min(1, alpha * p[i] + beta)) }
            case .hardSwish:
                for i in 0..<count { let x = p[i]; p[i] = x * Swift.min(Swift.max(x + 3, 0), 6) / 6 }
            case .sigmoid:
                for i in 0..<count { p[i] = 1 / (1 + Foundation.exp(-p[i])) }
            }
        }
    }
}

enum BinaryOp: String, Sendable {
    case add = "Add", sub = "Sub", mul = "Mul", div = "Div"

    @inline(__always)
    func apply(_ a: Float, _ b: Float) -> Float {
        switch self {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        }
    }
}

extension ONNXKernels {
    /// `ops` applied to every element of an NCHW (or any rank ≥ 2) tensor in place, per channel plane.
    static func pointwise(_ t: inout Tensor, _ ops: [PointwiseOp]) {
        guard !ops.isEmpty, t.count > 0 else { return }
        let channels = t.rank >= 2 ? t.shape[1] : 1
        let plane = t.count / max(1, (t.rank >= 1 ? t.shape[0] : 1) * channels)
        let planes = t.count / max(plane, 1)
        t.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            ThreadPool.parallelFor(planes, minChunk: max(1, 8192 / max(plane, 1))) { range in
                for i in range { PointwiseOp.run(ops, base + i * plane, count: plane, channel: i % channels) }
            }
        }
    }

    /// Numpy-broadcast shape of two shapes, or nil when they do not broadcast.
    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: r - a.count) + a
        let pb = [Int](repeating: 1, count: r - b.count) + b
        var out: [Int] = []
        for (x, y) in zip(pa, pb) {
            if x == y || y == 1 { out.append(x) } else if x == 1 { out.append(y) } else { return nil }
        }
        return out
    }

    /// a ∘= b where b broadcasts to a's shape; a's buffer is reused when it is not shared.
    static func binaryInPlace(_ op: BinaryOp, _ a: inout Tensor, _ b: Tensor) {
        let shape = a.shape
        let pb = [Int](repeating: 1, count: shape.count - b.rank) + b.shape
        let bc = b.contiguous()
        // Inner run: trailing axes along which b is either all equal to a or all of size one.
        var inner = 1, split = shape.count, full = true, ones = true
        while split > 0 {
            let d = split - 1
            let f = full && pb[d] == shape[d], o = ones && pb[d] == 1
            if !(f || o) { break }
            full = f; ones = o
            inner *= shape[d]
            split -= 1
        }
        let bStride = full ? 1 : 0
        let total = a.count, outer = total / max(inner, 1)
        let sb = Tensor.denseStrides(pb), outerShape = Array(shape[0..<split])
        a.withUnsafeMutableBufferPointer { ap in
            bc.withUnsafeBufferPointer { bp in
                let x = ap.baseAddress!, y = bp.baseAddress!
                ThreadPool.parallelFor(outer, minChunk: max(1, 16_384 / max(inner, 1))) { range in
                    for j in range {
                        var rem = j, offB = 0
                        for d in stride(from: split - 1, through: 0, by: -1) {
                            let idx = rem % outerShape[d]
                            rem /= outerShape[d]
                            if pb[d] != 1 { offB += idx * sb[d] }
                        }
                        let dst = x + j * inner, yb = y + offB
                        if bStride == 1 {
                            for i in 0..<inner { dst[i] = op.apply(dst[i], yb[i]) }
                        } else {
                            let v = yb[0]
                            for i in 0..<inner { dst[i] = op.apply(dst[i], v) }
                        }
                    }
                }
            }
        }
    }
}
