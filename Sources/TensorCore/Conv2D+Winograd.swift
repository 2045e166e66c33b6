/// 3x3 stride-1 weights in Winograd form F(m×m, 3×3) (Lavin & Gray 2015): U = G g Gᵀ, stored as
/// [α², Cout, Cin] with α = m + 2, so each of the α² products is one GEMM.
struct WinogradWeights: Sendable {
    /// Below this many channels the GEMMs are too thin for the transforms to pay off.
    static let minChannels = 16
    /// Output tile by layer size. F(4x4, 3x3) does 4x fewer multiplies than direct conv, F(2x2, 3x3) 2.25x
    /// with smaller rounding error. F(4x4)'s weight copy is 36/9 of the weights (F(2x2)'s 16/9), and every tile
    /// block reads all of it: on 1280-channel SD layers (maps ≤ 16x16) F(2x2) measured as fast as F(4x4)
    /// while its copy is 105 MB instead of 236 MB per layer, so F(4x4) only up to 640x640 channels.
    static func defaultTile(cin: Int, cout: Int) -> Int { cin * cout <= 640 * 640 ? 4 : 2 }

    let m: Int
    let u: Tensor  // [α², Cout, Cin]

    var alpha: Int { m + 2 }

    init(weight: Tensor, m: Int) {
        precondition(m == 2 || m == 4, "Winograd: tile \(m) not supported")
        let cout = weight.shape[0], cin = weight.shape[1]
        let sixth = 1.0 / 6, g2: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
        let g4: [[Double]] = [
            [0.25, 0, 0], [-sixth, -sixth, -sixth], [-sixth, sixth, -sixth],
            [1.0 / 24, 1.0 / 12, sixth], [1.0 / 24, -1.0 / 12, sixth], [0, 0, 1],
        ]
        let g = m == 2 ? g2 : g4
        let a = m + 2, w = weight.contiguous()
        let pw = w.kernelBase
        self.m = m
        self.u = Tensor(shape: [a * a, cout, cin]) { u in
            let pu = u.baseAddress!
            ThreadPool.parallelFor(cout * cin, minChunk: 256) { r in
                var tmp = [Double](repeating: 0, count: a * 3)
                for oc in r {
                    let k = pw + oc * 9
                    for i in 0..<a {  // tmp = G · k   [α, 3]
                        for j in 0..<3 {
                            tmp[i * 3 + j] = g[i][0] * Double(k[j]) + g[i][1] * Double(k[3 + j]) + g[i][2] * Double(k[6 + j])
                        }
                    }
                    for i in 0..<a {  // U = tmp · Gᵀ   [α, α]
                        for j in 0..<a {
                            let v = tmp[i * 3] * g[j][0] + tmp[i * 3 + 1] * g[j][1] + tmp[i * 3 + 2] * g[j][2]
                            pu[(i * a + j) * cout * cin + oc] = Float(v)
                        }
                    }
                }
            }
        }
        withExtendedLifetime(w) {}
    }
}

/// 3x3 stride-1 conv by Winograd F(m×m, 3×3), groups 1, any padding. Output holds the bias on entry.
///
/// Output tiles of all images are numbered t = (n, tileY, tileX) and processed in blocks of Tb tiles with
/// V [α², Cin, Tb] and M [α², Cout, Tb] fitting `ConvWorkspace.winogradBytes`:
///   1. V = Bᵀ d B for every input channel and tile (parallel over channels);
///   2. M_ξ = U_ξ [Cout, Cin] · V_ξ [Cin, Tb] for ξ < α² (parallel over ξ, single-threaded SGEMM);
///   3. out += Aᵀ M A for every output channel and tile, clipped at the right and bottom edges.
func conv2dWinograd(_ x: UnsafeMutablePointer<Float>, _ wts: WinogradWeights,
                    _ out: UnsafeMutablePointer<Float>, _ g: ConvGeometry,
                    budgetBytes: Int = ConvWorkspace.winogradBytes) {
    let m = wts.m, a = wts.alpha, aa = a * a
    let tilesY = (g.oh + m - 1) / m, tilesX = (g.ow + m - 1) / m, perImage = tilesY * tilesX
    let total = g.n * perImage
    let tb = max(1, min(total, budgetBytes / (4 * aa * (g.cin + g.cout))))
    let v = UnsafeMutablePointer<Float>.allocate(capacity: aa * g.cin * tb)
    let mm = UnsafeMutablePointer<Float>.allocate(capacity: aa * g.cout * tb)
    defer {
        v.deallocate()
        mm.deallocate()
    }
    let pu = wts.u.kernelBase
    var t0 = 0
    while t0 < total {
        let nt = min(tb, total - t0)
        // (image, tile row, tile column) of each tile in the block, so the channel loops do no division.
        let coords = (t0..<(t0 + nt)).map { tile in (tile / perImage, (tile % perImage) / tilesX, tile % tilesX) }
        // 1. Input transform.   V [α², Cin, Tb]
        ThreadPool.parallelFor(g.cin, chunksPerWorker: 4) { range in
            var d = [Float](repeating: 0, count: 36)
            d.withUnsafeMutableBufferPointer { db in
                let d = db.baseAddress!
                for c in range {
                    for t in 0..<nt {
                        let (i, ty, tx) = coords[t]
                        let plane = x + (i * g.cin + c) * g.h * g.w
                        let y0 = ty * m - g.padding.0, x0 = tx * m - g.padding.1
                        if y0 >= 0 && x0 >= 0 && y0 + a <= g.h && x0 + a <= g.w {
                            for r in 0..<a { (d + r * a).update(from: plane + (y0 + r) * g.w + x0, count: a) }
                        } else {
                            for r in 0..<a {
                                let yy = y0 + r
                                for s in 0..<a {
                                    let xx = x0 + s
                                    d[r * a + s] = yy >= 0 && yy < g.h && xx >= 0 && xx < g.w ? plane[yy * g.w + xx] : 0
                                }
                            }
                        }
                        let dst = v + c * tb + t, step = g.cin * tb
                        if m == 4 { winogradInput6(d, dst, step) } else { winogradInput4(d, dst, step) }
                    }
                }
            }
        }
        // 2. Products.   M [α², Cout, Tb]
        BLAS.withSingleThread {
            ThreadPool.parallelFor(aa, chunksPerWorker: 8) { range in
                for xi in range {
                    BLAS.sgemm(m: g.cout, n: nt, k: g.cin, a: pu + xi * g.cout * g.cin, lda: g.cin,
                               b: v + xi * g.cin * tb, ldb: tb, c: mm + xi * g.cout * tb, ldc: tb)
                }
            }
        }
        // 3. Output transform.   out [N, Cout, OH, OW]
        ThreadPool.parallelFor(g.cout, chunksPerWorker: 4) { range in
            var y = [Float](repeating: 0, count: 16)
            y.withUnsafeMutableBufferPointer { yb in
                let y = yb.baseAddress!
                for k in range {
                    for t in 0..<nt {
                        let (i, ty, tx) = coords[t]
                        let src = mm + k * tb + t, step = g.cout * tb
                        if m == 4 { winogradOutput6(src, step, y) } else { winogradOutput4(src, step, y) }
                        let plane = out + (i * g.cout + k) * g.oh * g.ow
                        let rows = min(m, g.oh - ty * m), cols = min(m, g.ow - tx * m)
                        for r in 0..<rows {
                            let o = plane + (ty * m + r) * g.ow + tx * m
                            for s in 0..<cols { o[s] += y[r * m + s] }
                        }
                    }
                }
            }
        }
        t0 += nt
    }
    withExtendedLifetime(wts) {}
}

// Bᵀ d B for F(4x4, 3x3): d [6, 6] → V, element ξ = (i, j) written to dst[ξ · step].
@inline(__always)
func winogradInput6(_ d: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ step: Int) {
    @inline(__always)
    func bt(_ r0: Float, _ r1: Float, _ r2: Float, _ r3: Float, _ r4: Float, _ r5: Float)
        -> (Float, Float, Float, Float, Float, Float) {
        (4 * r0 - 5 * r2 + r4, -4 * (r1 + r2) + r3 + r4, 4 * (r1 - r2) - r3 + r4,
         2 * (r3 - r1) - r2 + r4, 2 * (r1 - r3) - r2 + r4, 4 * r1 - 5 * r3 + r5)
    }
    var t = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0),
             Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0),
             Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0),
             Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
    withUnsafeMutableBytes(of: &t) { raw in
        let tmp = raw.baseAddress!.assumingMemoryBound(to: Float.self)
        for j in 0..<6 {  // columns: tmp = Bᵀ d
            let c = bt(d[j], d[6 + j], d[12 + j], d[18 + j], d[24 + j], d[30 + j])
            tmp[j] = c.0; tmp[6 + j] = c.1; tmp[12 + j] = c.2; tmp[18 + j] = c.3; tmp[24 + j] = c.4; tmp[30 + j] = c.5
        }
        for i in 0..<6 {  // rows: V = tmp B
            let r = tmp + i * 6
            let c = bt(r[0], r[1], r[2], r[3], r[4], r[5])
            let o = dst + i * 6 * step
            o[0] = c.0; o[step] = c.1; o[2 * step] = c.2; o[3 * step] = c.3; o[4 * step] = c.4; o[5 * step] = c.5
        }
    }
}

// Aᵀ M A for F(4x4, 3x3): M elements at src[ξ · step] → y [4, 4].
@inline(__always)
func winogradOutput6(_ src: UnsafeMutablePointer<Float>, _ step: Int, _ y: UnsafeMutablePointer<Float>) {
    @inline(__always)
    func at(_ m0: Float, _ m1: Float, _ m2: Float, _ m3: Float, _ m4: Float, _ m5: Float) -> (Float, Float, Float, Float) {
        let p12 = m1 + m2, d12 = m1 - m2, p34 = m3 + m4, d34 = m3 - m4
        return (m0 + p12 + p34, d12 + 2 * d34, p12 + 4 * p34, d12 + 8 * d34 + m5)
    }
    var t = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0),
             Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0),
             Float(0), Float(0), Float(0), Float(0))
    withUnsafeMutableBytes(of: &t) { raw in
        let tmp = raw.baseAddress!.assumingMemoryBound(to: Float.self)  // [4, 6]
        for j in 0..<6 {
            let s = src + j * step
            let c = at(s[0], s[6 * step], s[12 * step], s[18 * step], s[24 * step], s[30 * step])
            tmp[j] = c.0; tmp[6 + j] = c.1; tmp[12 + j] = c.2; tmp[18 + j] = c.3
        }
        for i in 0..<4 {
            let r = tmp + i * 6
            let c = at(r[0], r[1], r[2], r[3], r[4], r[5])
            y[i * 4] = c.0; y[i * 4 + 1] = c.1; y[i * 4 + 2] = c.2; y[i * 4 + 3] = c.3
        }
    }
}

// Bᵀ d B for F(2x2, 3x3): d [4, 4].
@inline(__always)
func winogradInput4(_ d: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ step: Int) {
    var t = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0),
             Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
    withUnsafeMutableBytes(of: &t) { raw in
        let tp = raw.baseAddress!.assumingMemoryBound(to: Float.self)
        for j in 0..<4 {
            let r0 = d[j], r1 = d[4 + j], r2 = d[8 + j], r3 = d[12 + j]
            tp[j] = r0 - r2; tp[4 + j] = r1 + r2; tp[8 + j] = r2 - r1; tp[12 + j] = r1 - r3
        }
        for i in 0..<4 {
            let r = tp + i * 4, o = dst + i * 4 * step
            o[0] = r[0] - r[2]; o[step] = r[1] + r[2]; o[2 * step] = r[2] - r[1]; o[3 * step] = r[1] - r[3]
        }
    }
}

// Aᵀ M A for F(2x2, 3x3): → y [2, 2].
@inline(__always)
func winogradOutput4(_ src: UnsafeMutablePointer<Float>, _ step: Int, _ y: UnsafeMutablePointer<Float>) {
    var t = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
    withUnsafeMutableBytes(of: &t) { raw in
        let tp = raw.baseAddress!.assumingMemoryBound(to: Float.self)  // [2, 4]
        for j in 0..<4 {
            let s = src + j * step
            let m0 = s[0], m1 = s[4 * step], m2 = s[8 * step], m3 = s[12 * step]
            tp[j] = m0 + m1 + m2; tp[4 + j] = m1 - m2 - m3
        }
        for i in 0..<2 {
            let r = tp + i * 4
            y[i * 2] = r[0] + r[1] + r[2]; y[i * 2 + 1] = r[1] - r[2] - r[3]
        }
    }
}
