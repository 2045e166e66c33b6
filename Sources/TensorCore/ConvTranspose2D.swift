extension Tensor {
    /// Transposed 2-D convolution as `torch.nn.functional.conv_transpose2d`, NCHW.
    ///
    /// Layout: input [N, Cin, H, W], weight [Cin, Cout/groups, kH, kW], bias [Cout] → [N, Cout, OH, OW] with
    /// OH = (H − 1)·s − 2p + d(kH − 1) + outputPadding + 1. Per image and group, over column tiles of input
    /// positions (≤ `ConvWorkspace.im2colBytes`): col [CoutG·kH·kW, tile] = Wᵀ · x (one SGEMM), then col2im
    /// adds each column into the output (parallel over output channels, so no two workers write one plane).
    public static func convTranspose2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1,
                                       padding: Int = 0, outputPadding: Int = 0, groups: Int = 1,
                                       dilation: Int = 1) -> Tensor {
        convTranspose2d(input, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding),
                        outputPadding: (outputPadding, outputPadding), groups: groups, dilation: (dilation, dilation))
    }

    /// `convTranspose2d` with per-axis (height, width) parameters.
    public static func convTranspose2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int),
                                       padding: (Int, Int), outputPadding: (Int, Int) = (0, 0), groups: Int = 1,
                                       dilation: (Int, Int) = (1, 1)) -> Tensor {
        precondition(input.rank == 4 && weight.rank == 4 && groups >= 1 && input.shape[1] == weight.shape[0]
                     && weight.shape[0] % groups == 0,
                     "convTranspose2d: input \(input.shape) does not match weight \(weight.shape) with groups \(groups)")
        precondition(outputPadding.0 < max(stride.0, dilation.0) && outputPadding.1 < max(stride.1, dilation.1),
                     "convTranspose2d: output padding \(outputPadding) must be smaller than stride or dilation")
        let n = input.shape[0], cin = input.shape[1], h = input.shape[2], w = input.shape[3]
        let coutG = weight.shape[1], kh = weight.shape[2], kw = weight.shape[3]
        let cout = coutG * groups, cinG = cin / groups
        let oh = (h - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + outputPadding.0 + 1
        let ow = (w - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + outputPadding.1 + 1
        precondition(oh > 0 && ow > 0, "convTranspose2d: empty output for input \(input.shape)")
        if let bias { precondition(bias.count == cout, "convTranspose2d: bias \(bias.shape) for \(cout) outputs") }
        let x = input.contiguous(), wt = weight.contiguous(), b = bias?.contiguous()
        let rows = coutG * kh * kw, positions = h * w
        let cols = max(1, min(positions, ConvWorkspace.im2colBytes / (4 * rows)))
        let out = Tensor(shape: [n, cout, oh, ow]) { out in
            let po = out.baseAddress!
            if let b {
                for i in 0..<(n * cout) { (po + i * oh * ow).initialize(repeating: b.kernelBase[i % cout], count: oh * ow) }
            } else {
                po.initialize(repeating: 0, count: out.count)
            }
            let col = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
            defer { col.deallocate() }
            for i in 0..<n {
                for gr in 0..<groups {
                    let xg = x.kernelBase + (i * cin + gr * cinG) * positions
                    let og = po + (i * cout + gr * coutG) * oh * ow
                    var p0 = 0
                    while p0 < positions {
                        let t = min(cols, positions - p0)
                        // [CoutG·kH·kW, t] = Wᵀ [CoutG·kH·kW, CinG] · x [CinG, t]
                        BLAS.sgemm(transA: true, m: rows, n: t, k: cinG, a: wt.kernelBase + gr * cinG * rows, lda: rows,
                                   b: xg + p0, ldb: positions, c: col, ldc: t)
                        ThreadPool.parallelFor(coutG) { range in
                            for co in range {
                                let plane = og + co * oh * ow
                                for ki in 0..<kh {
                                    for kj in 0..<kw {
                                        let src = col + ((co * kh + ki) * kw + kj) * t
                                        for p in 0..<t {
                                            let iy = (p0 + p) / w, ix = (p0 + p) % w
                                            let y = iy * stride.0 - padding.0 + ki * dilation.0
                                            let xx = ix * stride.1 - padding.1 + kj * dilation.1
                                            if y >= 0 && y < oh && xx >= 0 && xx < ow { plane[y * ow + xx] += src[p] }
                                        }
                                    }
                                }
                            }
                        }
                        p0 += t
                    }
                }
            }
        }
        withExtendedLifetime((x, wt, b)) {}
        return out
    }
}
