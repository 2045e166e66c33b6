// Token-layout kernels for SegFormer. The encoder keeps activations as tokens [L, C] (L = H·W, row-major
// over y then x), which is PyTorch's [B, L, C] sequence layout and, read as an image, NHWC: convolutions
// gather patches straight from it and GEMMs write tokens back, so the reference's NCHW↔token transposes
// never materialise.
import TensorCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum SegFormerKernels {
    /// Rows per GEMM task: enough to amortise the call, small enough that every core gets work.
    static func rowChunk(rows: Int, cost: Int) -> Int {
        let target = max(16, min(512, 131_072 / max(cost, 1)))
        let perWorker = (rows + ThreadPool.workers * split - 1) / (ThreadPool.workers * split)
        return max(1, min(target, perWorker))
    }

    /// Tasks per worker in the large loops: a worker that falls behind (preempted on a shared machine) is
    /// helped by the others instead of waited for.
    static let split = 4

    // MARK: Linear

    /// out[r, j] (+)= Σ_k x[r, k] · w[j, k] + bias[j] for `rows` rows: `nn.Linear` on tokens.
    /// `x` has row stride `ldx`, `out` row stride `ldo`; with `accumulate` the product is added to `out`
    /// (a residual connection in the same pass).
    static func linear(
        _ x: UnsafePointer<Float>, ldx: Int, rows: Int, inFeatures: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int, accumulate: Bool = false
    ) {
        let chunk = rowChunk(rows: rows, cost: inFeatures + outFeatures)
        let tasks = (rows + chunk - 1) / chunk
        ThreadPool.parallelFor(tasks, chunksPerWorker: split) { range in
            for t in range {
                let r0 = t * chunk, n = min(chunk, rows - r0)
                let o = out + r0 * ldo
                BLAS.sgemm(transB: true, m: n, n: outFeatures, k: inFeatures, a: x + r0 * ldx, lda: ldx,
                           b: weight, ldb: inFeatures, beta: accumulate ? 1 : 0, c: o, ldc: ldo)
                if let bias {
                    for r in 0..<n {
                        let row = o + r * ldo
                        for j in 0..<outFeatures { row[j] += bias[j] }
                    }
                }
            }
        }
    }

    // MARK: Layer norm

    /// `nn.LayerNorm(C)` over each of `rows` rows of `x` (row stride C), written to `out` (may equal `x`).
    /// Mean first, then the centred variance (as PyTorch does), eight lanes at a time.
    static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, channels c: Int, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, eps: Float, out: UnsafeMutablePointer<Float>
    ) {
        let vectors = c / 8
        ThreadPool.parallelFor(rows, minChunk: max(1, 4096 / max(c, 1))) { range in
            for r in range {
                let src = UnsafeRawPointer(x + r * c), dst = UnsafeMutableRawPointer(out + r * c)
                let s = x + r * c, d = out + r * c
                var acc = SIMD8<Float>(repeating: 0)
                for v in 0..<vectors { acc += src.loadUnaligned(fromByteOffset: v * 32, as: SIMD8<Float>.self) }
                var sum = acc.sum()
                for j in (vectors * 8)..<c { sum += s[j] }
                let mean = sum / Float(c)
                acc = .zero
                for v in 0..<vectors {
                    let e = src.loadUnaligned(fromByteOffset: v * 32, as: SIMD8<Float>.self) - mean
                    acc += e * e
                }
                var squares = acc.sum()
                for j in (vectors * 8)..<c { squares += (s[j] - mean) * (s[j] - mean) }
                let inv = 1 / (squares / Float(c) + eps).squareRoot()
                let wr = UnsafeRawPointer(weight), br = UnsafeRawPointer(bias)
                for v in 0..<vectors {
                    let e = src.loadUnaligned(fromByteOffset: v * 32, as: SIMD8<Float>.self) - mean
                    let y = e * inv * wr.loadUnaligned(fromByteOffset: v * 32, as: SIMD8<Float>.self)
                        + br.loadUnaligned(fromByteOffset: v * 32, as: SIMD8<Float>.self)
                    dst.storeBytes(of: y, toByteOffset: v * 32, as: SIMD8<Float>.self)
                }
                for j in (vectors * 8)..<c { d[j] = (s[j] - mean) * inv * weight[j] + bias[j] }
            }
        }
    }

    // MARK: Convolution from tokens

    /// A convolution read from an NHWC image (tokens) and written as tokens:
    /// out[(oy, ox), j] = bias[j] + Σ w[j, ky, kx, c] · in[oy·s + ky − p, ox·s + kx − p, c].
    /// The weight is the PyTorch [Cout, Cin, k, k] kernel permuted to [Cout, k, k, Cin] at load.
    /// Patches are gathered a band of output positions at a time, so no full im2col matrix exists.
    static func conv2dTokens(
        _ input: UnsafePointer<Float>, height h: Int, width w: Int, channels c: Int,
        kernel k: Int, stride s: Int, padding p: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, outChannels co: Int,
        out: UnsafeMutablePointer<Float>
    ) {
        let ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1
        let kdim = k * k * c, rows = ho * wo
        let chunk = rowChunk(rows: rows, cost: kdim + co)
        let tasks = (rows + chunk - 1) / chunk
        ThreadPool.parallelFor(tasks, chunksPerWorker: split) { range in
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: chunk * kdim)
            defer { cols.deallocate() }
            for t in range {
                let r0 = t * chunk, n = min(chunk, rows - r0)
                for r in 0..<n {
                    let oy = (r0 + r) / wo, ox = (r0 + r) % wo
                    let dst = cols + r * kdim
                    let x0 = ox * s - p
                    for ky in 0..<k {
                        let iy = oy * s - p + ky
                        let line = dst + ky * k * c
                        if iy < 0 || iy >= h {
                            line.initialize(repeating: 0, count: k * c)
                            continue
                        }
                        let src = input + iy * w * c
                        if x0 >= 0 && x0 + k <= w {
                            line.update(from: src + x0 * c, count: k * c)
                        } else {
                            for kx in 0..<k {
                                let ix = x0 + kx
                                if ix < 0 || ix >= w {
                                    (line + kx * c).initialize(repeating: 0, count: c)
                                } else {
                                    (line + kx * c).update(from: src + ix * c, count: c)
                                }
                            }
                        }
                    }
                }
                let o = out + r0 * co
                BLAS.sgemm(transB: true, m: n, n: co, k: kdim, a: cols, lda: kdim, b: weight, ldb: kdim,
                           c: o, ldc: co)
                for r in 0..<n {
                    let row = o + r * co
                    for j in 0..<co { row[j] += bias[j] }
                }
            }
        }
    }

    /// The Mix-FFN's depthwise 3×3 convolution (padding 1) on NHWC tokens, followed by exact GELU.
    /// `weight` is [9, C] (the PyTorch [C, 1, 3, 3] kernel transposed at load) so the inner loop runs
    /// along channels.
    static func depthwise3x3GELU(
        _ input: UnsafePointer<Float>, height h: Int, width w: Int, channels c: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        ThreadPool.parallelFor(h, chunksPerWorker: split) { range in
            for y in range {
                for x in 0..<w {
                    let dst = out + (y * w + x) * c
                    dst.update(from: bias, count: c)
                    for ky in 0..<3 {
                        let iy = y + ky - 1
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<3 {
                            let ix = x + kx - 1
                            if ix < 0 || ix >= w { continue }
                            let src = input + (iy * w + ix) * c
                            let wk = weight + (ky * 3 + kx) * c
                            for j in 0..<c { dst[j] += wk[j] * src[j] }
                        }
                    }
                }
                geluInPlace(out + y * w * c, count: w * c)
            }
        }
    }

    // MARK: Attention

    /// softmax(q kᵀ · scale) v for each head, on token layouts: head `hd` of a row is columns
    /// hd·d ..< (hd+1)·d of q (row stride `ldq`), k (`ldk`), v (`ldv`) and out (`ldo`).
    /// Queries go in blocks; a block's scores against all (spatially reduced) keys fit one scratch buffer of at most
    /// 2 MB, so the [Lq, Lk] score matrix never exists whole. Normalisation by the row sums is applied to the
    /// [block, d] output rather than to the [block, Lk] probabilities.
    static func attention(
        q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
        queries lq: Int, keys lk: Int, heads: Int, headDim d: Int, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        let block = min(256, max(64, 262_144 / max(lk, 1)))  // packing K and V costs 1/block of the products
        let blocks = (lq + block - 1) / block
        let scale = 1 / Float(d).squareRoot()
        ThreadPool.parallelFor(blocks * heads, chunksPerWorker: split) { range in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: block * lk)
            let inverseSums = UnsafeMutablePointer<Float>.allocate(capacity: block)
            defer {
                scores.deallocate()
                inverseSums.deallocate()
            }
            for task in range {
                let hd = task % heads, i0 = (task / heads) * block
                let n = min(block, lq - i0)
                BLAS.sgemm(transB: true, m: n, n: lk, k: d, alpha: scale, a: q + i0 * ldq + hd * d, lda: ldq,
                           b: k + hd * d, ldb: ldk, c: scores, ldc: lk)
                for r in 0..<n {
                    let row = scores + r * lk
                    inverseSums[r] = 1 / expSubtractSum(row, count: lk, subtract: rowMax(row, count: lk))
                }
                let o = out + i0 * ldo + hd * d
                BLAS.sgemm(m: n, n: d, k: lk, a: scores, lda: lk, b: v + hd * d, ldb: ldv, c: o, ldc: ldo)
                for r in 0..<n {
                    let row = o + r * ldo
                    let f = inverseSums[r]
                    for j in 0..<d { row[j] *= f }
                }
            }
        }
    }

    // MARK: Resampling

    /// Source index pairs and weights of `F.interpolate(mode="bilinear", align_corners=False)` along one
    /// axis with an explicit output size (scale = in / out, source clamped at 0 as PyTorch does).
    static func bilinearTaps(input: Int, output: Int) -> [(i0: Int, i1: Int, w1: Float)] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { o in
            let src = max(0, (Float(o) + 0.5) * scale - 0.5)
            let i0 = min(Int(src), input - 1)
            let i1 = min(i0 + 1, input - 1)
            return (i0, i1, src - Float(i0))
        }
    }

    /// Bilinear (align_corners=False) resize of an NHWC map [h, w, C] to output rows `rows` of [H, W, C],
    /// added to `out` (which points at output row `rows.lowerBound`).
    static func addBilinear(
        _ input: UnsafePointer<Float>, height h: Int, width w: Int, channels c: Int,
        yTaps: [(i0: Int, i1: Int, w1: Float)], xTaps: [(i0: Int, i1: Int, w1: Float)],
        rows: Range<Int>, out: UnsafeMutablePointer<Float>
    ) {
        let outW = xTaps.count
        for y in rows {
            let ty = yTaps[y]
            let a = input + ty.i0 * w * c, b = input + ty.i1 * w * c
            let wy1 = ty.w1, wy0 = 1 - wy1
            let dstRow = out + (y - rows.lowerBound) * outW * c
            for x in 0..<outW {
                let tx = xTaps[x]
                let wx1 = tx.w1, wx0 = 1 - wx1
                let p00 = a + tx.i0 * c, p01 = a + tx.i1 * c, p10 = b + tx.i0 * c, p11 = b + tx.i1 * c
                let dst = dstRow + x * c
                for j in 0..<c {
                    dst[j] += wy0 * (wx0 * p00[j] + wx1 * p01[j]) + wy1 * (wx0 * p10[j] + wx1 * p11[j])
                }
            }
        }
    }

    // MARK: Vector math

    /// exp on 8 lanes (Cephes `expf` polynomial, a few ulp over the clamped range). Rounding to the nearest integer
    /// and building 2^n both go through the 1.5·2^23 "magic" addition, which keeps everything in vector registers
    /// (the stdlib's SIMD float→int conversion runs lane by lane).
    @inline(__always)
    static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let lo = SIMD8<Float>(repeating: -87.33654), hi = SIMD8<Float>(repeating: 88.37626)
        let x = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let t = magic.addingProduct(x, SIMD8(repeating: 1.44269504088896341))
        let n = t - magic
        // Explicit FMAs: Swift does not contract a * b + c on its own.
        var r = x.addingProduct(n, SIMD8(repeating: -0.693359375))
        r = r.addingProduct(n, SIMD8(repeating: 2.12194440e-4))
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = SIMD8(repeating: 1.3981999507e-3).addingProduct(p, r)
        p = SIMD8(repeating: 8.3334519073e-3).addingProduct(p, r)
        p = SIMD8(repeating: 4.1665795894e-2).addingProduct(p, r)
        p = SIMD8(repeating: 1.6666665459e-1).addingProduct(p, r)
        p = SIMD8(repeating: 5.0000001201e-1).addingProduct(p, r)
        p = (r + 1).addingProduct(p, r * r)
        let bits = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
    }

    static func rowMax(_ row: UnsafePointer<Float>, count: Int) -> Float {
        let raw = UnsafeRawPointer(row)
        var m8 = SIMD8<Float>(repeating: -.infinity)
        var j = 0
        while j + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            m8.replace(with: v, where: v .> m8)
            j += 8
        }
        var m = m8.max()
        while j < count {
            m = max(m, row[j])
            j += 1
        }
        return m
    }

    /// row[j] = exp(row[j] − subtract), returning Σ row[j].
    static func expSubtractSum(_ row: UnsafeMutablePointer<Float>, count: Int, subtract m: Float) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var j = 0
        let raw = UnsafeMutableRawPointer(row)
        while j + 8 <= count {
            let v = exp8(raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - m)
            raw.storeBytes(of: v, toByteOffset: j * 4, as: SIMD8<Float>.self)
            acc += v
            j += 8
        }
        var sum = acc.sum()
        while j < count {
            let e = Float(exp(Double(row[j] - m)))
            row[j] = e
            sum += e
            j += 1
        }
        return sum
    }

    /// Exact (erf) GELU, 0.5·x·(1 + erf(x/√2)), with erf from Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7).
    @inline(__always)
    static func gelu8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let z = x * 0.70710678118654752
        let a = unsafeBitCast(unsafeBitCast(z, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)  // |z|
        let t = 1 / SIMD8<Float>(repeating: 1).addingProduct(a, SIMD8(repeating: 0.3275911))
        var p = SIMD8<Float>(repeating: 1.061405429)
        p = SIMD8(repeating: -1.453152027).addingProduct(p, t)
        p = SIMD8(repeating: 1.421413741).addingProduct(p, t)
        p = SIMD8(repeating: -0.284496736).addingProduct(p, t)
        p = SIMD8(repeating: 0.254829592).addingProduct(p, t)
        let e = 1 - p * t * exp8(-a * a)
        let erf = e.replacing(with: -e, where: z .< 0)
        return 0.5 * x * (1 + erf)
    }

    static func geluInPlace(_ p: UnsafeMutablePointer<Float>, count: Int) {
        let raw = UnsafeMutableRawPointer(p)
        var j = 0
        while j + 8 <= count {
            let v = gelu8(raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self))
            raw.storeBytes(of: v, toByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
        while j < count {
            let x = Double(p[j])
            p[j] = Float(0.5 * x * (1 + erf(x / 2.0.squareRoot())))
            j += 1
        }
    }
}
