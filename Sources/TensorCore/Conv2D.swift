/// Working-buffer bounds of the convolution kernels (the largest scratch memory any call allocates):
/// on 2 cores a conv2d call allocates at most 32 MiB (Winograd) or 8 MiB (im2col, 4 MiB per worker) besides
/// its output, a convTranspose2d call at most 4 MiB; depthwise and 1x1 convs allocate nothing.
public enum ConvWorkspace {
    /// im2col column buffer per worker (general conv) and per call (transposed conv).
    public static let im2colBytes = 4 << 20
    /// Winograd transformed inputs and products (V and M) per call; tiles are processed in blocks that fit.
    public static let winogradBytes = 32 << 20
    /// Upper bound of scratch memory of one conv2d call with `ThreadPool.workers` workers.
    public static var conv2dBytes: Int { max(im2colBytes * ThreadPool.workers, winogradBytes) }
}

/// A conv layer's weights and hyper-parameters, with the Winograd form of 3x3 stride-1 weights prepared
/// once (at model load) instead of on every call.
public struct Conv2DWeights: Sendable {
    /// [Cout, Cin/groups, kH, kW]; empty when only the Winograd form is kept (`keepWeight: false`).
    public let weight: Tensor
    /// [Cout, Cin/groups, kH, kW].
    public let weightShape: [Int]
    public let bias: Tensor?  // [Cout]
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let dilation: (Int, Int)
    public let groups: Int
    let winograd: WinogradWeights?

    /// `winograd: false` keeps 3x3 stride-1 layers on im2col (saves the transformed copy: 16/9 or 36/9 of
    /// the weights' size); `winogradTile` forces F(2x2) or F(4x4) output tiles instead of the default.
    /// `keepWeight: false` drops the plain weights of a layer that has its Winograd form (the only form such a
    /// layer uses), which saves their memory: a large model's 3x3 layers are most of its weights.
    public init(weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                dilation: (Int, Int) = (1, 1), groups: Int = 1, winograd: Bool = true, winogradTile: Int? = nil,
                keepWeight: Bool = true) {
        precondition(weight.rank == 4, "conv2d: weight \(weight.shape) is not [Cout, Cin/groups, kH, kW]")
        precondition(groups >= 1 && weight.shape[0] % groups == 0, "conv2d: \(weight.shape[0]) outputs in \(groups) groups")
        precondition(stride.0 >= 1 && stride.1 >= 1 && dilation.0 >= 1 && dilation.1 >= 1 && padding.0 >= 0 && padding.1 >= 0,
                     "conv2d: bad stride \(stride), padding \(padding) or dilation \(dilation)")
        if let bias { precondition(bias.count == weight.shape[0], "conv2d: bias \(bias.shape) for \(weight.shape[0]) outputs") }
        let plain = weight.contiguous()
        self.weightShape = weight.shape
        self.bias = bias?.contiguous()
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        let s = weight.shape
        if winograd && groups == 1 && s[2] == 3 && s[3] == 3 && stride == (1, 1) && dilation == (1, 1)
            && s[0] >= WinogradWeights.minChannels && s[1] >= WinogradWeights.minChannels {
            self.winograd = WinogradWeights(weight: plain, m: winogradTile ?? WinogradWeights.defaultTile(cin: s[1], cout: s[0]))
        } else {
            self.winograd = nil
        }
        self.weight = self.winograd != nil && !keepWeight ? Tensor(shape: [0], scalars: []) : plain
    }
}

extension Tensor {
    /// 2-D convolution as `torch.nn.functional.conv2d` (cross-correlation), NCHW.
    ///
    /// Layout: input [N, Cin, H, W], weight [Cout, Cin/groups, kH, kW], bias [Cout] →
    /// [N, Cout, (H + 2p − d(k−1) − 1)/s + 1, …]. Picks a kernel by shape: depthwise direct, 1x1 as a GEMM,
    /// 3x3 stride 1 by Winograd, else im2col in column tiles. Scratch memory ≤ `ConvWorkspace.conv2dBytes`.
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1,
                              padding: Int = 0, dilation: Int = 1, groups: Int = 1) -> Tensor {
        conv2d(input, Conv2DWeights(weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding),
                                    dilation: (dilation, dilation), groups: groups))
    }

    /// `conv2d` with per-axis (height, width) stride, padding and dilation.
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int),
                              padding: (Int, Int), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        conv2d(input, Conv2DWeights(weight: weight, bias: bias, stride: stride, padding: padding,
                                    dilation: dilation, groups: groups))
    }

    /// `conv2d` with prepared weights.
    public static func conv2d(_ input: Tensor, _ w: Conv2DWeights) -> Tensor {
        conv2d(input, w, im2colBytes: ConvWorkspace.im2colBytes, winogradBytes: ConvWorkspace.winogradBytes)
    }

    static func conv2d(_ input: Tensor, _ w: Conv2DWeights, im2colBytes: Int, winogradBytes: Int) -> Tensor {
        let ws = w.weightShape
        precondition(input.rank == 4 && input.shape[1] == ws[1] * w.groups,
                     "conv2d: input \(input.shape) does not match weight \(ws) with groups \(w.groups)")
        let n = input.shape[0], cin = input.shape[1], h = input.shape[2], wd = input.shape[3]
        let cout = ws[0], kh = ws[2], kw = ws[3]
        let oh = (h + 2 * w.padding.0 - w.dilation.0 * (kh - 1) - 1) / w.stride.0 + 1
        let ow = (wd + 2 * w.padding.1 - w.dilation.1 * (kw - 1) - 1) / w.stride.1 + 1
        precondition(oh > 0 && ow > 0, "conv2d: input \(input.shape) too small for kernel \(kh)x\(kw)")
        let x = input.contiguous()
        let geo = ConvGeometry(n: n, cin: cin, h: h, w: wd, cout: cout, kh: kh, kw: kw, oh: oh, ow: ow,
                               stride: w.stride, padding: w.padding, dilation: w.dilation, groups: w.groups)
        let out = Tensor(shape: [n, cout, oh, ow]) { out in
            let po = out.baseAddress!
            if let bias = w.bias {
                let pb = bias.kernelBase
                ThreadPool.parallelFor(n * cout, minChunk: max(1, 4096 / (oh * ow))) { r in
                    for i in r { (po + i * oh * ow).initialize(repeating: pb[i % cout], count: oh * ow) }
                }
            } else {
                po.initialize(repeating: 0, count: out.count)
            }
            if w.groups == cin && ws[1] == 1 && w.groups > 1 {
                conv2dDepthwise(x.kernelBase, w.weight.kernelBase, po, geo)
            } else if let u = w.winograd {
                conv2dWinograd(x.kernelBase, u, po, geo, budgetBytes: winogradBytes)
            } else if kh == 1 && kw == 1 && w.stride == (1, 1) && w.padding == (0, 0) {
                conv2dPointwise(x.kernelBase, w.weight.kernelBase, po, geo)
            } else {
                conv2dIm2col(x.kernelBase, w.weight.kernelBase, po, geo, budgetBytes: im2colBytes)
            }
        }
        withExtendedLifetime((x, w)) {}
        return out
    }
}

/// Sizes of one conv2d call, shared by its kernels.
struct ConvGeometry {
    var n, cin, h, w, cout, kh, kw, oh, ow: Int
    var stride, padding, dilation: (Int, Int)
    var groups: Int
    var cinG: Int { cin / groups }
    var coutG: Int { cout / groups }
}

/// 1x1 stride-1 conv: per image and group, out (CoutG × HW) += W (CoutG × CinG) · x (CinG × HW). No im2col.
/// Output holds the bias on entry.
func conv2dPointwise(_ x: UnsafeMutablePointer<Float>, _ wt: UnsafeMutablePointer<Float>,
                     _ out: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
    let hw = g.h * g.w
    for i in 0..<g.n {
        for gr in 0..<g.groups {
            BLAS.sgemm(m: g.coutG, n: hw, k: g.cinG, a: wt + gr * g.coutG * g.cinG, lda: g.cinG,
                       b: x + (i * g.cin + gr * g.cinG) * hw, ldb: hw, beta: 1,
                       c: out + (i * g.cout + gr * g.coutG) * hw, ldc: hw)
        }
    }
}

/// General conv by im2col over column tiles: each task lowers output positions p0..<p1 of one image and
/// group into col [CinG·kH·kW, p1−p0] (≤ `ConvWorkspace.im2colBytes`) and runs a single-threaded GEMM into
/// the output's columns. Output holds the bias on entry.
func conv2dIm2col(_ x: UnsafeMutablePointer<Float>, _ wt: UnsafeMutablePointer<Float>,
                  _ out: UnsafeMutablePointer<Float>, _ g: ConvGeometry, budgetBytes: Int = ConvWorkspace.im2colBytes) {
    let rows = g.cinG * g.kh * g.kw, positions = g.oh * g.ow
    let budget = max(1, budgetBytes / (4 * rows))
    let images = g.n * g.groups
    let perImage = max(1, (ThreadPool.workers + images - 1) / images)
    let cols = max(1, min(budget, (positions + perImage - 1) / perImage))
    let tilesPerImage = (positions + cols - 1) / cols
    BLAS.withSingleThread {
        ThreadPool.parallelFor(images * tilesPerImage) { range in
            let col = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
            defer { col.deallocate() }
            for task in range {
                let img = task / tilesPerImage, p0 = (task % tilesPerImage) * cols
                let p1 = min(positions, p0 + cols), t = p1 - p0
                let i = img / g.groups, gr = img % g.groups
                im2col(x + (i * g.cin + gr * g.cinG) * g.h * g.w, col, g, p0: p0, p1: p1)
                BLAS.sgemm(m: g.coutG, n: t, k: rows, a: wt + gr * g.coutG * rows, lda: rows, b: col, ldb: t,
                           beta: 1, c: out + (i * g.cout + gr * g.coutG) * positions + p0, ldc: positions)
            }
        }
    }
}

/// Lowers output positions p0..<p1 of one image-group x [CinG, H, W] to col [CinG·kH·kW, p1−p0].
func im2col(_ x: UnsafeMutablePointer<Float>, _ col: UnsafeMutablePointer<Float>, _ g: ConvGeometry, p0: Int, p1: Int) {
    let t = p1 - p0
    let (sh, sw) = g.stride, (ph, pw) = g.padding, (dh, dw) = g.dilation
    var row = col
    for c in 0..<g.cinG {
        let plane = x + c * g.h * g.w
        for ki in 0..<g.kh {
            for kj in 0..<g.kw {
                let offX = kj * dw - pw
                // Output columns whose input column lies inside the image.
                let lo = min(g.ow, max(0, (-offX + sw - 1) / sw))
                let hi = max(lo, min(g.ow, offX >= g.w ? 0 : (g.w - 1 - offX) / sw + 1))
                var p = p0
                while p < p1 {
                    let oy = p / g.ow, ox0 = p % g.ow
                    let ox1 = min(g.ow, ox0 + (p1 - p))
                    let dst = row + (p - p0) - ox0
                    let iy = oy * sh - ph + ki * dh
                    if iy < 0 || iy >= g.h {
                        (dst + ox0).initialize(repeating: 0, count: ox1 - ox0)
                    } else {
                        let src = plane + iy * g.w + offX
                        let a = max(ox0, lo), b = min(ox1, hi)
                        if a >= b {
                            (dst + ox0).initialize(repeating: 0, count: ox1 - ox0)
                        } else {
                            for ox in ox0..<a { dst[ox] = 0 }
                            if sw == 1 {
                                (dst + a).initialize(from: src + a, count: b - a)
                            } else {
                                for ox in a..<b { dst[ox] = src[ox * sw] }
                            }
                            for ox in b..<ox1 { dst[ox] = 0 }
                        }
                    }
                    p += ox1 - ox0
                }
                row += t
            }
        }
    }
}

/// Depthwise conv (groups == Cin, one input channel per group): a direct kernel per output plane,
/// out[n, oc] += Σ w[oc, ki, kj] · x[n, oc / multiplier] shifted. 3x3 stride 1 fuses the nine taps of
/// interior columns into one pass; other shapes add one tap at a time. Output holds the bias on entry.
func conv2dDepthwise(_ x: UnsafeMutablePointer<Float>, _ wt: UnsafeMutablePointer<Float>,
                     _ out: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
    let mult = g.cout / g.cin
    let (sh, sw) = g.stride, (ph, pw) = g.padding, (dh, dw) = g.dilation
    let fused = g.kh == 3 && g.kw == 3 && g.stride == (1, 1) && g.dilation == (1, 1)
    ThreadPool.parallelFor(g.n * g.cout) { range in
        let zeros = UnsafeMutablePointer<Float>.allocate(capacity: g.w + 1)
        zeros.initialize(repeating: 0, count: g.w + 1)
        defer { zeros.deallocate() }
        for plane in range {
            let i = plane / g.cout, oc = plane % g.cout
            let src = x + (i * g.cin + oc / mult) * g.h * g.w
            let k = wt + oc * g.kh * g.kw
            let dst = out + plane * g.oh * g.ow
            for oy in 0..<g.oh {
                let orow = dst + oy * g.ow
                if fused {
                    // Rows outside the image read a zero row, so only columns need edge handling.
                    func inputRow(_ ki: Int) -> UnsafeMutablePointer<Float> {
                        let iy = oy - ph + ki
                        return iy >= 0 && iy < g.h ? src + iy * g.w : zeros
                    }
                    let r0 = inputRow(0), r1 = inputRow(1), r2 = inputRow(2)
                    let (k0, k1, k2, k3, k4, k5, k6, k7, k8) = (k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8])
                    let lo = min(g.ow, pw), hi = max(lo, min(g.ow, g.w - 2 + pw))
                    for ox in lo..<hi {
                        let c = ox - pw
                        var s = orow[ox]
                        s += k0 * r0[c] + k1 * r0[c + 1] + k2 * r0[c + 2]
                        s += k3 * r1[c] + k4 * r1[c + 1] + k5 * r1[c + 2]
                        s += k6 * r2[c] + k7 * r2[c + 1] + k8 * r2[c + 2]
                        orow[ox] = s
                    }
                    var ox = 0
                    while ox < g.ow {
                        if ox == lo && hi > lo { ox = hi; continue }
                        var s = orow[ox]
                        for kj in 0..<3 {
                            let ix = ox - pw + kj
                            if ix >= 0 && ix < g.w { s += k[kj] * r0[ix] + k[3 + kj] * r1[ix] + k[6 + kj] * r2[ix] }
                        }
                        orow[ox] = s
                        ox += 1
                    }
                    continue
                }
                for ki in 0..<g.kh {
                    let iy = oy * sh - ph + ki * dh
                    if iy < 0 || iy >= g.h { continue }
                    let irow = src + iy * g.w
                    for kj in 0..<g.kw {
                        let wv = k[ki * g.kw + kj], offX = kj * dw - pw
                        let lo = min(g.ow, max(0, (-offX + sw - 1) / sw))
                        let hi = max(lo, min(g.ow, offX >= g.w ? 0 : (g.w - 1 - offX) / sw + 1))
                        if sw == 1 {
                            for ox in lo..<hi { orow[ox] += wv * irow[ox + offX] }
                        } else {
                            for ox in lo..<hi { orow[ox] += wv * irow[ox * sw + offX] }
                        }
                    }
                }
            }
        }
    }
}
