import Foundation

/// Pointwise activations (formulas as PyTorch's, so parity stays within rounding) and softmax.
extension Tensor {
    /// How `gelu` evaluates the Gaussian CDF, as `approximate=` in `torch.nn.functional.gelu`.
    public enum GELUApproximation: Sendable { case none, tanh }

    public func relu() -> Tensor { map { $0 > 0 ? $0 : ($0.isNaN ? $0 : 0) } }

    /// x · sigmoid(x).
    public func silu() -> Tensor { map { $0 / (1 + Foundation.exp(-$0)) } }

    public func gelu(approximate: GELUApproximation = .none) -> Tensor {
        switch approximate {
        case .none:
            return map { 0.5 * $0 * (1 + erf($0 * Float(0.5).squareRoot())) }
        case .tanh:
            let k = Float(2 / Double.pi).squareRoot()
            return map { x in 0.5 * x * (1 + Foundation.tanh(k * (x + 0.044715 * x * x * x))) }
        }
    }

    public func sigmoid() -> Tensor { map { 1 / (1 + Foundation.exp(-$0)) } }

    public func tanh() -> Tensor { map { Foundation.tanh($0) } }

    /// PyTorch's hard sigmoid: x/6 + 0.5 clipped to [0, 1] (relu6(x + 3) / 6).
    public func hardSigmoid() -> Tensor {
        map { x in x <= -3 ? 0 : (x >= 3 ? 1 : x / 6 + 0.5) }
    }

    /// ONNX's HardSigmoid: max(0, min(1, alpha·x + beta)).
    public func hardSigmoid(alpha: Float, beta: Float = 0.5) -> Tensor {
        map { x in Swift.max(0, Swift.min(1, alpha * x + beta)) }
    }

    /// x · hardSigmoid(x), as `torch.nn.functional.hardswish`.
    public func hardSwish() -> Tensor {
        map { x in x <= -3 ? 0 : (x >= 3 ? x : x * (x + 3) / 6) }
    }

    /// exp(x - max) / Σ exp(x - max) along `dim`.
    public func softmax(dim: Int) -> Tensor {
        let d = normalized(dim)
        let n = shape[d]
        let inner = shape[(d + 1)...].reduce(1, *), outer = shape[..<d].reduce(1, *)
        let src = contiguous()
        return Tensor(shape: shape) { out in
            guard out.count > 0 else { return }
            let pi = src.storage.base + src.offset, po = out.baseAddress!
            if inner == 1 {
                ThreadPool.parallelFor(outer, minChunk: Swift.max(1, 16384 / n)) { rows in
                    for r in rows { Tensor.softmaxRow(pi + r * n, po + r * n, n) }
                }
            } else {
                // Reduce across `n` for `inner` columns at once, so every pass reads memory in order.
                ThreadPool.parallelFor(outer, minChunk: Swift.max(1, 16384 / (n * inner))) { blocks in
                    var acc = [Float](repeating: 0, count: inner)
                    acc.withUnsafeMutableBufferPointer { acc in
                        for b in blocks {
                            Tensor.softmaxColumns(pi + b * n * inner, po + b * n * inner, n, inner, acc.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for i in 0..<n { m = Swift.max(m, x[i]) }
        var s: Float = 0
        for i in 0..<n {
            let e = Foundation.exp(x[i] - m)
            y[i] = e
            s += e
        }
        let r = 1 / s
        for i in 0..<n { y[i] *= r }
    }

    @inline(__always)
    static func softmaxColumns(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ inner: Int,
                               _ acc: UnsafeMutablePointer<Float>) {
        acc.update(repeating: -.infinity, count: inner)
        for k in 0..<n {
            let row = x + k * inner
            for j in 0..<inner { acc[j] = Swift.max(acc[j], row[j]) }
        }
        for k in 0..<n {
            let row = x + k * inner, out = y + k * inner
            for j in 0..<inner { out[j] = Foundation.exp(row[j] - acc[j]) }
        }
        acc.update(repeating: 0, count: inner)
        for k in 0..<n {
            let out = y + k * inner
            for j in 0..<inner { acc[j] += out[j] }
        }
        for j in 0..<inner { acc[j] = 1 / acc[j] }
        for k in 0..<n {
            let out = y + k * inner
            for j in 0..<inner { out[j] *= acc[j] }
        }
    }
}
