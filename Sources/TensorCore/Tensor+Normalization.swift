/// Layer, group and batch normalisation (inference), and folding batch norm into a convolution.
extension Tensor {
    /// Normalises over the last `normalizedShape.count` dimensions (which must equal `normalizedShape`),
    /// then scales by `weight` and shifts by `bias` when given, as `torch.nn.functional.layer_norm`.
    public func layerNorm(_ normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil,
                          eps: Float = 1e-5) -> Tensor {
        let k = normalizedShape.count
        precondition(k <= rank && Array(shape.suffix(k)) == normalizedShape,
                     "layerNorm: shape \(shape) does not end with \(normalizedShape)")
        precondition(weight.map { $0.shape == normalizedShape } ?? true, "layerNorm: weight shape differs")
        precondition(bias.map { $0.shape == normalizedShape } ?? true, "layerNorm: bias shape differs")
        let n = normalizedShape.reduce(1, *)
        let rows = n == 0 ? 0 : count / n
        let src = contiguous(), w = weight?.contiguous(), b = bias?.contiguous()
        return Tensor(shape: shape) { out in
            guard out.count > 0 else { return }
            let pi = src.storage.base + src.offset, po = out.baseAddress!
            let pw = w.map { UnsafePointer($0.storage.base + $0.offset) }
            let pb = b.map { UnsafePointer($0.storage.base + $0.offset) }
            ThreadPool.parallelFor(rows, minChunk: Swift.max(1, 16384 / n)) { range in
                for r in range {
                    let x = pi + r * n, y = po + r * n
                    let (mean, rstd) = Tensor.meanAndRstd(x, n, eps)
                    switch (pw, pb) {
                    case let (w?, b?): for i in 0..<n { y[i] = (x[i] - mean) * rstd * w[i] + b[i] }
                    case let (w?, nil): for i in 0..<n { y[i] = (x[i] - mean) * rstd * w[i] }
                    case let (nil, b?): for i in 0..<n { y[i] = (x[i] - mean) * rstd + b[i] }
                    case (nil, nil): for i in 0..<n { y[i] = (x[i] - mean) * rstd }
                    }
                }
            }
        }
    }

    /// Group normalisation of [N, C, *] with C divisible by `groups`; per-channel affine when given,
    /// as `torch.nn.functional.group_norm`.
    public func groupNorm(groups: Int, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
        precondition(rank >= 2 && groups > 0 && shape[1] % groups == 0,
                     "groupNorm: \(shape[1]) channels in \(groups) groups")
        let c = shape[1], cpg = c / groups
        precondition(weight.map { $0.shape == [c] } ?? true, "groupNorm: weight must be [\(c)]")
        precondition(bias.map { $0.shape == [c] } ?? true, "groupNorm: bias must be [\(c)]")
        let spatial = shape[2...].reduce(1, *), blocks = shape[0] * groups, n = cpg * spatial
        let src = contiguous(), w = weight?.contiguous(), b = bias?.contiguous()
        return Tensor(shape: shape) { out in
            guard out.count > 0 else { return }
            let pi = src.storage.base + src.offset, po = out.baseAddress!
            let pw = w.map { UnsafePointer($0.storage.base + $0.offset) }
            let pb = b.map { UnsafePointer($0.storage.base + $0.offset) }
            ThreadPool.parallelFor(blocks, minChunk: Swift.max(1, 16384 / Swift.max(n, 1))) { range in
                for blk in range {
                    let x = pi + blk * n, y = po + blk * n
                    let (mean, rstd) = Tensor.meanAndRstd(x, n, eps)
                    let c0 = (blk % groups) * cpg
                    for ch in 0..<cpg {
                        // Per channel: y = x · scale + shift.
                        let scale = rstd * (pw?[c0 + ch] ?? 1)
                        let shift = (pb?[c0 + ch] ?? 0) - mean * scale
                        let xc = x + ch * spatial, yc = y + ch * spatial
                        for i in 0..<spatial { yc[i] = xc[i] * scale + shift }
                    }
                }
            }
        }
    }

    /// Batch normalisation of [N, C, *] with running statistics (inference), as
    /// `torch.nn.functional.batch_norm(training=False)`.
    public func batchNorm(mean: Tensor, variance: Tensor, weight: Tensor? = nil, bias: Tensor? = nil,
                          eps: Float = 1e-5) -> Tensor {
        precondition(rank >= 2, "batchNorm: input must be [N, C, *]")
        let c = shape[1]
        let (scale, shift) = Tensor.batchNormScaleShift(
            channels: c, mean: mean, variance: variance, weight: weight, bias: bias, eps: eps)
        let spatial = shape[2...].reduce(1, *), planes = shape[0] * c
        let src = contiguous()
        return Tensor(shape: shape) { out in
            guard out.count > 0 else { return }
            let pi = src.storage.base + src.offset, po = out.baseAddress!
            ThreadPool.parallelFor(planes, minChunk: Swift.max(1, 32768 / Swift.max(spatial, 1))) { range in
                for p in range {
                    let s = scale[p % c], t = shift[p % c]
                    let x = pi + p * spatial, y = po + p * spatial
                    for i in 0..<spatial { y[i] = x[i] * s + t }
                }
            }
        }
    }

    /// Folds inference batch norm into the preceding convolution (or linear layer): with
    /// s = gamma / √(var + eps), returns weight · s (per output channel, dimension 0) and
    /// (bias − mean) · s + beta, so conv(x, w', b') == batchNorm(conv(x, w, b)).
    public static func foldBatchNorm(weight: Tensor, bias: Tensor?, gamma: Tensor?, beta: Tensor?,
                                     mean: Tensor, variance: Tensor, eps: Float = 1e-5) -> (weight: Tensor, bias: Tensor) {
        let c = weight.shape[0]
        precondition(bias.map { $0.shape == [c] } ?? true, "foldBatchNorm: bias must be [\(c)]")
        let (scale, shift) = batchNormScaleShift(
            channels: c, mean: mean, variance: variance, weight: gamma, bias: beta, eps: eps)
        let per = c == 0 ? 0 : weight.count / c
        let w = weight.contiguous().scalars, b = bias?.scalars ?? [Float](repeating: 0, count: c)
        let folded = Tensor(shape: weight.shape) { out in
            for o in 0..<c {
                for i in 0..<per { out[o * per + i] = w[o * per + i] * scale[o] }
            }
        }
        // (b − mean)·s + beta == b·s + shift.
        let foldedBias = Tensor(shape: [c], scalars: (0..<c).map { b[$0] * scale[$0] + shift[$0] })
        return (folded, foldedBias)
    }

    /// Per-channel scale gamma/√(var+eps) and shift beta − mean·scale.
    static func batchNormScaleShift(channels c: Int, mean: Tensor, variance: Tensor, weight: Tensor?, bias: Tensor?,
                                    eps: Float) -> (scale: [Float], shift: [Float]) {
        for (name, t) in [("mean", mean), ("variance", variance), ("weight", weight), ("bias", bias)] {
            precondition(t.map { $0.shape == [c] } ?? true, "batchNorm: \(name) must be [\(c)]")
        }
        let m = mean.scalars, v = variance.scalars
        let g = weight?.scalars ?? [Float](repeating: 1, count: c), b = bias?.scalars ?? [Float](repeating: 0, count: c)
        let scale = (0..<c).map { g[$0] / (v[$0] + eps).squareRoot() }
        return (scale, (0..<c).map { b[$0] - m[$0] * scale[$0] })
    }

    /// Mean and 1/√(biased variance + eps) of `n` values, in two passes (stable for large means).
    @inline(__always)
    static func meanAndRstd(_ x: UnsafePointer<Float>, _ n: Int, _ eps: Float) -> (Float, Float) {
        let mean = laneSum(x, n) { $0 } / Float(n)
        let q = laneSum(x, n) { ($0 - mean) * ($0 - mean) }
        return (mean, 1 / (q / Float(n) + eps).squareRoot())
    }

    /// Σ f(x[i]) with eight independent accumulators: the loop vectorises without reassociation flags,
    /// and rounding error grows with n/8 rather than n.
    @inline(__always)
    static func laneSum(_ x: UnsafePointer<Float>, _ n: Int, _ f: (Float) -> Float) -> Float {
        var a0: Float = 0, a1: Float = 0, a2: Float = 0, a3: Float = 0
        var a4: Float = 0, a5: Float = 0, a6: Float = 0, a7: Float = 0
        var i = 0
        while i + 8 <= n {
            a0 += f(x[i]); a1 += f(x[i + 1]); a2 += f(x[i + 2]); a3 += f(x[i + 3])
            a4 += f(x[i + 4]); a5 += f(x[i + 5]); a6 += f(x[i + 6]); a7 += f(x[i + 7])
            i += 8
        }
        while i < n {
            a0 += f(x[i])
            i += 1
        }
        return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    }
}
