import TensorCore

/// Convolution kernels the ONNX runner needs, NCHW, on TensorCore's BLAS and thread pool.
///
/// Conv: depthwise direct, 1x1 stride-1 as one GEMM, else im2col + GEMM per group.
/// ConvTranspose: GEMM into columns, then col2im scatter-add. Both take ONNX's begin/end pads.
enum ONNXKernels {
    struct ConvGeometry: Sendable, Equatable {
        var stride: (h: Int, w: Int)
        var padBegin: (h: Int, w: Int)
        var padEnd: (h: Int, w: Int)
        var dilation: (h: Int, w: Int)
        var groups: Int

        static func == (a: ConvGeometry, b: ConvGeometry) -> Bool {
            a.stride == b.stride && a.padBegin == b.padBegin && a.padEnd == b.padEnd
                && a.dilation == b.dilation && a.groups == b.groups
        }
    }

    // MARK: Conv

    /// Output [N, Cout, OH, OW] of input [N, Cin, H, W] with weight [Cout, Cin/groups, kH, kW].
    static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry) -> Tensor {
        let x = input.contiguous()
        let n = x.shape[0], cin = x.shape[1], h = x.shape[2], w = x.shape[3]
        let cout = weight.shape[0], cpg = weight.shape[1], kh = weight.shape[2], kw = weight.shape[3]
        precondition(cpg * g.groups == cin, "conv2d: input \(x.shape) vs weight \(weight.shape), groups \(g.groups)")
        let oh = (h + g.padBegin.h + g.padEnd.h - g.dilation.h * (kh - 1) - 1) / g.stride.h + 1
        let ow = (w + g.padBegin.w + g.padEnd.w - g.dilation.w * (kw - 1) - 1) / g.stride.w + 1
        precondition(oh > 0 && ow > 0, "conv2d: input \(x.shape) too small for kernel \(kh)x\(kw)")
        let wt = weight.contiguous()
        let biasValues = bias?.scalars
        var out = Tensor(shape: [n, cout, oh, ow], repeating: 0)
        let opg = cout / g.groups
        x.withUnsafeBufferPointer { xp in
            wt.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    if g.groups == cin && cpg == 1 && opg == 1 {
                        depthwise(xp.baseAddress!, wp.baseAddress!, op.baseAddress!, n: n, c: cin, h: h, w: w,
                                  kh: kh, kw: kw, oh: oh, ow: ow, g)
                    } else {
                        gemmConv(xp.baseAddress!, wp.baseAddress!, op.baseAddress!, n: n, cin: cin, h: h, w: w,
                                 cout: cout, kh: kh, kw: kw, oh: oh, ow: ow, g)
                    }
                    if let biasValues {
                        let plane = oh * ow
                        ThreadPool.parallelFor(n * cout, minChunk: max(1, 16_384 / max(plane, 1))) { range in
                            for i in range {
                                let b = biasValues[i % cout]
                                let p = op.baseAddress! + i * plane
                                for j in 0..<plane { p[j] += b }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    private static func depthwise(
        _ x: UnsafePointer<Float>, _ wt: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
        n: Int, c: Int, h: Int, w: Int, kh: Int, kw: Int, oh: Int, ow: Int, _ g: ConvGeometry
    ) {
        let sh = g.stride.h, sw = g.stride.w, dh = g.dilation.h, dw = g.dilation.w
        let ph = g.padBegin.h, pw = g.padBegin.w
        // Per kernel column, the output columns whose input column is inside the image.
        var oxRange: [(Int, Int)] = []
        for kx in 0..<kw {
            let shift = kx * dw - pw
            let lo = shift >= 0 ? 0 : (-shift + sw - 1) / sw
            let hiIncl = (w - 1 - shift) >= 0 ? (w - 1 - shift) / sw : -1
            oxRange.append((lo, min(ow - 1, hiIncl) + 1))
        }
        ThreadPool.parallelFor(n * c) { planes in
            for plane in planes {
                let ch = plane % c
                let src = x + plane * h * w
                let dst = out + plane * oh * ow
                let k = wt + ch * kh * kw
                for oy in 0..<oh {
                    let row = dst + oy * ow
                    for ky in 0..<kh {
                        let iy = oy * sh - ph + ky * dh
                        if iy < 0 || iy >= h { continue }
                        let srow = src + iy * w
                        for kx in 0..<kw {
                            let wv = k[ky * kw + kx]
                            let (lo, hi) = oxRange[kx]
                            if lo >= hi { continue }
                            let base = srow + (kx * dw - pw)
                            if sw == 1 {
                                for ox in lo..<hi { row[ox] += wv * base[ox] }
                            } else {
                                for ox in lo..<hi { row[ox] += wv * base[ox * sw] }
                            }
                        }
                    }
                }
            }
        }
    }

    private static func gemmConv(
        _ x: UnsafePointer<Float>, _ wt: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
        n: Int, cin: Int, h: Int, w: Int, cout: Int, kh: Int, kw: Int, oh: Int, ow: Int, _ g: ConvGeometry
    ) {
        let groups = g.groups, cpg = cin / groups, opg = cout / groups
        let k = cpg * kh * kw, cols = oh * ow
        let pointwise = kh == 1 && kw == 1 && g.stride == (1, 1) && g.padBegin == (0, 0) && g.padEnd == (0, 0)
        var scratch = pointwise ? [] : [Float](repeating: 0, count: k * cols)
        for img in 0..<n {
            for grp in 0..<groups {
                let src = x + (img * cin + grp * cpg) * h * w
                let dst = out + (img * cout + grp * opg) * cols
                let wg = wt + grp * opg * k
                if pointwise {
                    BLAS.sgemm(m: opg, n: cols, k: k, a: wg, lda: k, b: src, ldb: cols, c: dst, ldc: cols)
                    continue
                }
                scratch.withUnsafeMutableBufferPointer { colBuf in
                    im2col(src, colBuf.baseAddress!, c: cpg, h: h, w: w, kh: kh, kw: kw, oh: oh, ow: ow, g)
                    BLAS.sgemm(m: opg, n: cols, k: k, a: wg, lda: k, b: colBuf.baseAddress!, ldb: cols,
                               c: dst, ldc: cols)
                }
            }
        }
    }

    /// Rows (c, ky, kx), columns (oy, ox); zeros where the kernel reads padding.
    private static func im2col(
        _ src: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>,
        c: Int, h: Int, w: Int, kh: Int, kw: Int, oh: Int, ow: Int, _ g: ConvGeometry
    ) {
        let sh = g.stride.h, sw = g.stride.w, dh = g.dilation.h, dw = g.dilation.w
        let ph = g.padBegin.h, pw = g.padBegin.w
        ThreadPool.parallelFor(c * kh * kw) { rows in
            for r in rows {
                let ch = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw
                let dst = cols + r * oh * ow
                let plane = src + ch * h * w
                for oy in 0..<oh {
                    let iy = oy * sh - ph + ky * dh
                    let drow = dst + oy * ow
                    if iy < 0 || iy >= h {
                        drow.update(repeating: 0, count: ow)
                        continue
                    }
                    let srow = plane + iy * w
                    for ox in 0..<ow {
                        let ix = ox * sw - pw + kx * dw
                        drow[ox] = (ix >= 0 && ix < w) ? srow[ix] : 0
                    }
                }
            }
        }
    }

    // MARK: ConvTranspose

    /// Output [N, Cout, OH, OW] of input [N, Cin, H, W] with weight [Cin, Cout, kH, kW] (one group),
    /// OH = (H−1)·s − padBegin − padEnd + d·(k−1) + outputPadding + 1.
    static func convTranspose2d(
        _ input: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry, outputPadding: (h: Int, w: Int)
    ) -> Tensor {
        precondition(g.groups == 1, "convTranspose2d: groups \(g.groups)")
        let x = input.contiguous()
        let n = x.shape[0], cin = x.shape[1], h = x.shape[2], w = x.shape[3]
        let cout = weight.shape[1], kh = weight.shape[2], kw = weight.shape[3]
        precondition(weight.shape[0] == cin, "convTranspose2d: input \(x.shape) vs weight \(weight.shape)")
        let oh = (h - 1) * g.stride.h - g.padBegin.h - g.padEnd.h + g.dilation.h * (kh - 1) + outputPadding.h + 1
        let ow = (w - 1) * g.stride.w - g.padBegin.w - g.padEnd.w + g.dilation.w * (kw - 1) + outputPadding.w + 1
        precondition(oh > 0 && ow > 0, "convTranspose2d: empty output for input \(x.shape)")
        let wt = weight.contiguous()
        let rows = cout * kh * kw, plane = h * w
        var cols = [Float](repeating: 0, count: rows * plane)
        var out = Tensor(shape: [n, cout, oh, ow], repeating: 0)
        let biasValues = bias?.scalars
        x.withUnsafeBufferPointer { xp in
            wt.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    cols.withUnsafeMutableBufferPointer { cp in
                        for img in 0..<n {
                            // cols[(o,ky,kx), (iy,ix)] = Σ_c W[c, (o,ky,kx)] · x[c, (iy,ix)]
                            BLAS.sgemm(transA: true, m: rows, n: plane, k: cin, a: wp.baseAddress!, lda: rows,
                                       b: xp.baseAddress! + img * cin * plane, ldb: plane,
                                       c: cp.baseAddress!, ldc: plane)
                            let dst = op.baseAddress! + img * cout * oh * ow
                            let colp = UnsafePointer(cp.baseAddress!)
                            ThreadPool.parallelFor(cout) { chans in
                                for o in chans {
                                    let plane0 = dst + o * oh * ow
                                    if let biasValues { plane0.update(repeating: biasValues[o], count: oh * ow) }
                                    for ky in 0..<kh {
                                        for kx in 0..<kw {
                                            let src = colp + ((o * kh + ky) * kw + kx) * plane
                                            for iy in 0..<h {
                                                let oy = iy * g.stride.h - g.padBegin.h + ky * g.dilation.h
                                                if oy < 0 || oy >= oh { continue }
                                                let orow = plane0 + oy * ow
                                                let srow = src + iy * w
                                                for ix in 0..<w {
                                                    let ox = ix * g.stride.w - g.padBegin.w + kx * g.dilation.w
                                                    if ox >= 0 && ox < ow { orow[ox] += srow[ix] }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
