/// Pointwise activations (formulas as PyTorch's, so parity stays within rounding) and softmax.
extension Tensor {
    /// How `gelu` evaluates the Gaussian CDF, as `approximate=` in `torch.nn.functional.gelu`.
    public enum GELUApproximation: Sendable { case none, tanh }

    public func relu() -> Tensor { map(.relu) }

    /// x · sigmoid(x).
    public func silu() -> Tensor { map(.silu) }

    /// x · Φ(x). The erf form uses a 2e-7-accurate polynomial erf; the tanh form is PyTorch's formula.
    public func gelu(approximate: GELUApproximation = .none) -> Tensor {
        map(approximate == .none ? .gelu : .geluTanh)
    }

    public func sigmoid() -> Tensor { map(.sigmoid) }

    public func tanh() -> Tensor { map(.tanh) }

    /// PyTorch's hard sigmoid: x/6 + 0.5 clipped to [0, 1] (relu6(x + 3) / 6).
    public func hardSigmoid() -> Tensor { map(.hardSigmoid) }

    /// ONNX's HardSigmoid: max(0, min(1, alpha·x + beta)).
    public func hardSigmoid(alpha: Float, beta: Float = 0.5) -> Tensor { map(.hardSigmoidAffine(alpha, beta)) }

    /// x · hardSigmoid(x), as `torch.nn.functional.hardswish`.
    public func hardSwish() -> Tensor { map(.hardSwish) }

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
        var m0 = -Float.infinity, m1 = m0, m2 = m0, m3 = m0
        var i = 0
        while i + 4 <= n {
            m0 = Swift.max(m0, x[i]); m1 = Swift.max(m1, x[i + 1]); m2 = Swift.max(m2, x[i + 2]); m3 = Swift.max(m3, x[i + 3])
            i += 4
        }
        while i < n {
            m0 = Swift.max(m0, x[i])
            i += 1
        }
        let m = Swift.max(Swift.max(m0, m1), Swift.max(m2, m3))
        for i in 0..<n { y[i] = FastMath.exp(x[i] - m) }
        let r = 1 / laneSum(UnsafePointer(y), n) { $0 }
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
            for j in 0..<inner { out[j] = FastMath.exp(row[j] - acc[j]) }
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
