/// 2-D pooling over NCHW with PyTorch's output-size and padding rules.
extension Tensor {
    /// Max over `kernel` windows, as `torch.nn.functional.max_pool2d` (padding counts as −∞).
    public func maxPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                          ceilMode: Bool = false) -> Tensor {
        pool2d(kernel: kernel, stride: stride ?? kernel, padding: padding, ceilMode: ceilMode, average: false,
               countIncludePad: false)
    }

    /// Mean over `kernel` windows, as `torch.nn.functional.avg_pool2d`; with `countIncludePad` (the
    /// default) the divisor counts padding but not the part of a ceil-mode window past the padding.
    public func avgPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                          ceilMode: Bool = false, countIncludePad: Bool = true) -> Tensor {
        pool2d(kernel: kernel, stride: stride ?? kernel, padding: padding, ceilMode: ceilMode, average: true,
               countIncludePad: countIncludePad)
    }

    /// Mean over the spatial dimensions: [N, C, H, W] → [N, C, 1, 1], as `adaptive_avg_pool2d(x, 1)`.
    public func globalAveragePool() -> Tensor {
        precondition(rank == 4, "globalAveragePool: input must be [N, C, H, W]")
        return mean(dims: [2, 3], keepdim: true)
    }

    /// PyTorch's `pooling_output_shape`: a ceil-mode window must start inside the input or left padding.
    static func poolOutputSize(_ n: Int, kernel k: Int, stride s: Int, padding p: Int, ceilMode: Bool) -> Int {
        var out = (n + 2 * p - k + (ceilMode ? s - 1 : 0)) / s + 1
        if ceilMode && (out - 1) * s >= n + p { out -= 1 }
        return out
    }

    private func pool2d(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), ceilMode: Bool,
                        average: Bool, countIncludePad: Bool) -> Tensor {
        precondition(rank == 4, "pool2d: input must be [N, C, H, W], got \(shape)")
        let (kh, kw) = kernel, (sh, sw) = stride, (ph, pw) = padding
        precondition(kh > 0 && kw > 0 && sh > 0 && sw > 0 && ph >= 0 && pw >= 0 && ph <= kh / 2 && pw <= kw / 2,
                     "pool2d: bad kernel \(kernel), stride \(stride) or padding \(padding)")
        let h = shape[2], w = shape[3]
        let oh = Tensor.poolOutputSize(h, kernel: kh, stride: sh, padding: ph, ceilMode: ceilMode)
        let ow = Tensor.poolOutputSize(w, kernel: kw, stride: sw, padding: pw, ceilMode: ceilMode)
        precondition(oh > 0 && ow > 0, "pool2d: output would be empty for input \(shape)")
        let planes = shape[0] * shape[1]
        let src = contiguous()
        return Tensor(shape: [shape[0], shape[1], oh, ow]) { out in  // [N, C, OH, OW]
            guard out.count > 0 else { return }
            let pi = src.storage.base + src.offset, po = out.baseAddress!
            ThreadPool.parallelFor(planes, minChunk: Swift.max(1, 8192 / (oh * ow * kh * kw))) { range in
                for p in range {
                    let x = pi + p * h * w, y = po + p * oh * ow
                    for oy in 0..<oh {
                        let y0 = oy * sh - ph, y1 = Swift.min(y0 + kh, h + ph)
                        let ya = Swift.max(y0, 0), yb = Swift.min(y1, h)
                        for ox in 0..<ow {
                            let x0 = ox * sw - pw, x1 = Swift.min(x0 + kw, w + pw)
                            let xa = Swift.max(x0, 0), xb = Swift.min(x1, w)
                            if average {
                                var s: Float = 0
                                for iy in ya..<yb { for ix in xa..<xb { s += x[iy * w + ix] } }
                                let divisor = countIncludePad ? (y1 - y0) * (x1 - x0) : (yb - ya) * (xb - xa)
                                y[oy * ow + ox] = s / Float(divisor)
                            } else {
                                var m = -Float.infinity
                                for iy in ya..<yb {
                                    for ix in xa..<xb {
                                        let v = x[iy * w + ix]
                                        if v > m || v.isNaN { m = v }
                                    }
                                }
                                y[oy * ow + ox] = m
                            }
                        }
                    }
                }
            }
        }
    }
}
