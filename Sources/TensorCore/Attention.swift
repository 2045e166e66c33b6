/// Block sizes of `scaledDotProductAttention`; a worker's scratch is Bq·Bk scores plus Bq running maxima
/// and sums, so attention never holds more than `workers · (Bq·Bk + 2·Bq)` floats besides its output:
/// 264 KiB per worker with 256x256 blocks (528 KiB on 2 cores), whatever the sequence lengths.
public enum AttentionBlocks {
    public static let queries = 256
    public static let keys = 256
    public static var workspaceBytes: Int { ThreadPool.workers * (queries * keys + 2 * queries) * 4 }
}

extension Tensor {
    /// `torch.nn.functional.scaled_dot_product_attention` without dropout:
    /// softmax(q kᵀ · scale [+ causal mask]) v, scale defaulting to 1/√D.
    ///
    /// Layout: q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv] (dense). Inputs may be
    /// strided views (e.g. heads split off a [B, L, H·D] projection) as long as their last dimension is dense.
    /// Flash-style: each task takes one (batch·head, block of Bq queries) and walks blocks of Bk keys with an
    /// online softmax, so at most a Bq×Bk block of scores exists per worker. The causal mask is
    /// `torch`'s `is_causal` (query i sees keys 0...i).
    public static func scaledDotProductAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool = false,
                                                 scale: Float? = nil) -> Tensor {
        attention(q, k, v, causal: causal, scale: scale, queryBlock: AttentionBlocks.queries,
                  keyBlock: AttentionBlocks.keys)
    }

    static func attention(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool, scale: Float?,
                          queryBlock: Int, keyBlock: Int) -> Tensor {
        precondition(q.rank == 4 && k.rank == 4 && v.rank == 4, "attention: q, k, v must be [B, H, L, D]")
        let b = q.shape[0], h = q.shape[1], lq = q.shape[2], d = q.shape[3]
        let lk = k.shape[2], dv = v.shape[3]
        precondition(k.shape == [b, h, lk, d] && v.shape == [b, h, lk, dv],
                     "attention: q \(q.shape), k \(k.shape), v \(v.shape) do not match")
        func lastDense(_ t: Tensor) -> Tensor { t.strides[3] == 1 || t.shape[3] == 1 ? t : t.contiguous() }
        let qd = lastDense(q), kd = lastDense(k), vd = lastDense(v)
        let alpha = (scale ?? 1 / Float(d).squareRoot()) * Float(1.4426950408889634)  // scores in log2 units
        let bq = max(1, min(queryBlock, lq)), bk = max(1, min(keyBlock, lk))
        let qBlocks = (lq + bq - 1) / bq
        let out = Tensor(shape: [b, h, lq, dv]) { out in
            guard out.count > 0 else { return }
            let po = out.baseAddress!
            if lk == 0 {
                po.initialize(repeating: 0, count: out.count)
                return
            }
            BLAS.withSingleThread {
                ThreadPool.parallelFor(b * h * qBlocks, chunksPerWorker: 8) { range in
                    let s = UnsafeMutablePointer<Float>.allocate(capacity: bq * bk)
                    let rowMax = UnsafeMutablePointer<Float>.allocate(capacity: bq)
                    let rowSum = UnsafeMutablePointer<Float>.allocate(capacity: bq)
                    defer {
                        s.deallocate()
                        rowMax.deallocate()
                        rowSum.deallocate()
                    }
                    for task in range {
                        let bh = task / qBlocks, i0 = (task % qBlocks) * bq
                        let bi = bh / h, hi = bh % h
                        let nq = min(bq, lq - i0)
                        let qp = qd.kernelBase + bi * qd.strides[0] + hi * qd.strides[1] + i0 * qd.strides[2]
                        let kp = kd.kernelBase + bi * kd.strides[0] + hi * kd.strides[1]
                        let vp = vd.kernelBase + bi * vd.strides[0] + hi * vd.strides[1]
                        let op = po + (bh * lq + i0) * dv  // [nq, Dv], accumulates unnormalised
                        let keyEnd = causal ? min(lk, i0 + nq) : lk
                        var j0 = 0
                        while j0 < keyEnd {
                            let nk = min(bk, keyEnd - j0)
                            // [nq, nk] = q [nq, D] · kᵀ [D, nk], in log2 units
                            BLAS.sgemm(transB: true, m: nq, n: nk, k: d, alpha: alpha, a: qp, lda: max(qd.strides[2], 1),
                                       b: kp + j0 * kd.strides[2], ldb: max(kd.strides[2], 1), c: s, ldc: nk)
                            for r in 0..<nq {
                                let row = s + r * nk
                                let valid = causal ? max(0, min(nk, i0 + r - j0 + 1)) : nk
                                let blockMax = valid > 0 ? attentionRowMax(row, valid) : -Float.infinity
                                let old = j0 == 0 ? -Float.infinity : rowMax[r]
                                let m = max(old, blockMax)
                                let sum = valid > 0 ? attentionExp2InPlace(row, valid, subtracting: m) : 0
                                for c in valid..<nk { row[c] = 0 }
                                if j0 == 0 {
                                    rowMax[r] = m
                                    rowSum[r] = sum
                                } else if m > old {
                                    let corr = attentionExp2(old - m)
                                    rowSum[r] = rowSum[r] * corr + sum
                                    rowMax[r] = m
                                    let o = op + r * dv
                                    for c in 0..<dv { o[c] *= corr }
                                } else {
                                    rowSum[r] += sum
                                }
                            }
                            // out [nq, Dv] (+)= p [nq, nk] · v [nk, Dv]
                            BLAS.sgemm(m: nq, n: dv, k: nk, a: s, lda: nk, b: vp + j0 * vd.strides[2],
                                       ldb: max(vd.strides[2], 1), beta: j0 == 0 ? 0 : 1, c: op, ldc: dv)
                            j0 += nk
                        }
                        for r in 0..<nq {
                            let inv = 1 / rowSum[r], o = op + r * dv
                            for c in 0..<dv { o[c] *= inv }
                        }
                    }
                }
            }
        }
        withExtendedLifetime((qd, kd, vd)) {}
        return out
    }
}

/// Largest of `n` floats. Kept out of line: inlined into the attention loop it compiles to lane shuffles.
@inline(never)
func attentionRowMax(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 8 <= n {
        let x = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        acc = acc.replacing(with: x, where: acc .< x)  // becomes vmaxps; stdlib's pointwiseMax is lane by lane
        i += 8
    }
    var m = acc.max()
    while i < n {
        m = max(m, p[i])
        i += 1
    }
    return m
}

/// p[i] = 2^(p[i] − m) for i < n; returns their sum.
@inline(never)
func attentionExp2InPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int, subtracting m: Float) -> Float {
    var sum = SIMD8<Float>(repeating: 0)
    let raw = UnsafeMutableRawPointer(p), mv = SIMD8<Float>(repeating: m)
    var i = 0
    while i + 8 <= n {
        let e = attentionExp2(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - mv)
        raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
        sum += e
        i += 8
    }
    var total = sum.sum()
    while i < n {
        let e = attentionExp2(p[i] - m)
        p[i] = e
        total += e
        i += 1
    }
    return total
}

/// 2^x for x ≤ 0 (scores minus their maximum): 2^round(x) from the exponent bits times a degree-5
/// polynomial for 2^f, f ∈ [−0.5, 0.5]. x is clamped at −126, where 2^x ≈ 1e-38 is
/// already nothing next to the row's largest term, 1.
@inline(__always)
func attentionExp2(_ x0: SIMD8<Float>) -> SIMD8<Float> {
    let floor = SIMD8<Float>(repeating: -126)
    let x = x0.replacing(with: floor, where: x0 .< floor)  // vmaxps
    let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5·2²³: adding it rounds to an integer
    let t = x + magic
    let f = x - (t - magic)
    // Degree-5 near-minimax fit of 2^f on [−0.5, 0.5] (relative error 1.5e-7), Horner steps as FMAs
    // (Swift does not contract a * b + c by itself).
    var p = SIMD8<Float>(repeating: 0.009675541).addingProduct(SIMD8(repeating: 0.0013276464), f)
    p = SIMD8<Float>(repeating: 0.055507135).addingProduct(p, f)
    p = SIMD8<Float>(repeating: 0.2402212).addingProduct(p, f)
    p = SIMD8<Float>(repeating: 0.69314694).addingProduct(p, f)
    p = SIMD8<Float>(repeating: 1.0000001).addingProduct(p, f)
    let bits = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self) &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
}

@inline(__always)
func attentionExp2(_ x: Float) -> Float {
    attentionExp2(SIMD8<Float>(repeating: x))[0]
}
