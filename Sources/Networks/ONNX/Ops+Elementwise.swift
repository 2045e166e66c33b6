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

    /// a ∘ b with numpy broadcasting. Fast paths: equal shapes, and one side repeating along the last axes.
    static func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let shape = broadcastShape(a.shape, b.shape) else {
            preconditionFailure("binary: \(a.shape) and \(b.shape) do not broadcast")
        }
        let r = shape.count
        let pa = [Int](repeating: 1, count: r - a.rank) + a.shape
        let pb = [Int](repeating: 1, count: r - b.rank) + b.shape
        let ac = a.contiguous(), bc = b.contiguous()
        return Tensor(shape: shape) { out in
            let total = out.count
            guard total > 0 else { return }
            ac.withUnsafeBufferPointer { ap in
                bc.withUnsafeBufferPointer { bp in
                    let o = out.baseAddress!, x = ap.baseAddress!, y = bp.baseAddress!
                    if pa == pb {
                        ThreadPool.parallelFor(total, minChunk: 16_384) { range in
                            for i in range { o[i] = op.apply(x[i], y[i]) }
                        }
                        return
                    }
                    // Split into an outer index over the leading axes and an inner run over trailing axes
                    // where each side either matches the output or is constant.
                    var inner = 1, split = r
                    var aInnerFull = true, bInnerFull = true, aInnerOne = true, bInnerOne = true
                    while split > 0 {
                        let d = split - 1
                        let aFull = pa[d] == shape[d], bFull = pb[d] == shape[d]
                        let aOne = pa[d] == 1, bOne = pb[d] == 1
                        let na = (aInnerFull && aFull) || (aInnerOne && aOne)
                        let nb = (bInnerFull && bFull) || (bInnerOne && bOne)
                        if !(na && nb) { break }
                        aInnerFull = aInnerFull && aFull; aInnerOne = aInnerOne && aOne
                        bInnerFull = bInnerFull && bFull; bInnerOne = bInnerOne && bOne
                        inner *= shape[d]
                        split -= 1
                    }
                    let aStride = aInnerOne && !aInnerFull ? 0 : 1
                    let bStride = bInnerOne && !bInnerFull ? 0 : 1
                    let outer = total / max(inner, 1)
                    let sa = Tensor.denseStrides(pa), sb = Tensor.denseStrides(pb)
                    let outerShape = Array(shape[0..<split])
                    ThreadPool.parallelFor(outer, minChunk: max(1, 16_384 / max(inner, 1))) { range in
                        for j in range {
                            var rem = j, offA = 0, offB = 0
                            for d in stride(from: split - 1, through: 0, by: -1) {
                                let idx = rem % outerShape[d]
                                rem /= outerShape[d]
                                if pa[d] != 1 { offA += idx * sa[d] }
                                if pb[d] != 1 { offB += idx * sb[d] }
                            }
                            let dst = o + j * inner, xa = x + offA, yb = y + offB
                            switch (aStride, bStride) {
                            case (1, 1): for i in 0..<inner { dst[i] = op.apply(xa[i], yb[i]) }
                            case (1, 0): let v = yb[0]; for i in 0..<inner { dst[i] = op.apply(xa[i], v) }
                            case (0, 1): let v = xa[0]; for i in 0..<inner { dst[i] = op.apply(v, yb[i]) }
                            default: let v = op.apply(xa[0], yb[0]); for i in 0..<inner { dst[i] = v }
                            }
                        }
                    }
                }
            }
        }
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

    /// Mean over H and W: [N, C, H, W] → [N, C, 1, 1].
    static func globalAveragePool(_ x: Tensor) -> Tensor {
        let c = x.contiguous()
        let planes = c.shape[0] * c.shape[1]
        let plane = c.count / max(planes, 1)
        var outShape = Array(c.shape.prefix(2))
        outShape += [Int](repeating: 1, count: c.rank - 2)
        return Tensor(shape: outShape) { out in
            c.withUnsafeBufferPointer { src in
                ThreadPool.parallelFor(planes, minChunk: max(1, 16_384 / max(plane, 1))) { range in
                    for i in range {
                        var s: Float = 0
                        let p = src.baseAddress! + i * plane
                        for j in 0..<plane { s += p[j] }
                        out[i] = s / Float(plane)
                    }
                }
            }
        }
    }

    /// Tensors joined along `axis`; all other dimensions must agree.
    static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        var shape = parts[0].shape
        shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
        let outer = shape[0..<axis].reduce(1, *)
        let innerOut = shape[axis...].reduce(1, *)
        let dense = parts.map { $0.contiguous() }
        return Tensor(shape: shape) { out in
            var offset = 0
            for p in dense {
                let inner = p.shape[axis...].reduce(1, *)
                p.withUnsafeBufferPointer { src in
                    for o in 0..<outer {
                        (out.baseAddress! + o * innerOut + offset).update(from: src.baseAddress! + o * inner, count: inner)
                    }
                }
                offset += inner
            }
        }
    }
}
