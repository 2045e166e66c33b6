import Foundation

/// Spatial resizing of NCHW tensors with `torch.nn.functional.interpolate`'s index rules
/// (`align_corners=False`, no antialiasing).
extension Tensor {
    public enum InterpolationMode: Sendable {
        /// PyTorch's "nearest": source index ⌊dst · scale⌋ (the legacy rule, biased to the top left).
        case nearest
        /// PyTorch's "nearest-exact": source index ⌊(dst + 0.5) · scale⌋.
        case nearestExact
        /// PyTorch's "bilinear" with `align_corners=False`: half-pixel centres, clamped at the edges.
        case bilinear
    }

    /// [N, C, H, W] resized to `size` (height, width); scale is input size / output size.
    public func interpolate(size: (Int, Int), mode: InterpolationMode) -> Tensor {
        precondition(rank == 4 && size.0 > 0 && size.1 > 0, "interpolate: input must be [N, C, H, W]")
        return resize(size, scale: (Float(shape[2]) / Float(size.0), Float(shape[3]) / Float(size.1)), mode)
    }

    /// [N, C, H, W] scaled by `scaleFactor`: output ⌊size · factor⌋, and the index map uses 1/factor,
    /// as `interpolate(scale_factor=…)` without `recompute_scale_factor`.
    public func interpolate(scaleFactor: Double, mode: InterpolationMode) -> Tensor {
        precondition(rank == 4 && scaleFactor > 0, "interpolate: input must be [N, C, H, W]")
        let size = (Int((Double(shape[2]) * scaleFactor).rounded(.down)), Int((Double(shape[3]) * scaleFactor).rounded(.down)))
        let s = Float(1 / scaleFactor)
        return resize(size, scale: (s, s), mode)
    }

    private func resize(_ size: (Int, Int), scale: (Float, Float), _ mode: InterpolationMode) -> Tensor {
        let (h, w) = (shape[2], shape[3]), (oh, ow) = size
        precondition(h > 0 && w > 0 && oh > 0 && ow > 0, "interpolate: empty input or output")
        let planes = shape[0] * shape[1]
        let src = contiguous()
        let ys = Tensor.resizeTaps(oh, h, scale.0, mode), xs = Tensor.resizeTaps(ow, w, scale.1, mode)
        return Tensor(shape: [shape[0], shape[1], oh, ow]) { out in  // [N, C, OH, OW]
            let pi = src.storage.base + src.offset, po = out.baseAddress!
            ThreadPool.parallelFor(planes, minChunk: Swift.max(1, 16384 / (oh * ow))) { range in
                // Bilinear is separable: each source row is interpolated horizontally once into a row
                // buffer (kept while consecutive output rows reuse it), then rows are blended vertically.
                var rows = [Float](repeating: 0, count: mode == .bilinear ? 2 * ow : 0)
                rows.withUnsafeMutableBufferPointer { rows in
                    for p in range {
                        let x = pi + p * h * w, y = po + p * oh * ow
                        guard mode == .bilinear else {
                            for oy in 0..<oh {
                                let r0 = x + ys[oy].i0 * w, row = y + oy * ow
                                for ox in 0..<ow { row[ox] = r0[xs[ox].i0] }
                            }
                            continue
                        }
                        let top = rows.baseAddress!, bottom = top + ow
                        var cached = (-1, -1)
                        for oy in 0..<oh {
                            let ty = ys[oy]
                            if cached.0 != ty.i0 {
                                if cached.1 == ty.i0 { top.update(from: bottom, count: ow) } else { Tensor.lerpRow(x + ty.i0 * w, xs, top) }
                            }
                            if cached.1 != ty.i1 || cached.0 != ty.i0 { Tensor.lerpRow(x + ty.i1 * w, xs, bottom) }
                            cached = (ty.i0, ty.i1)
                            let row = y + oy * ow, w0 = ty.w0, w1 = ty.w1
                            for ox in 0..<ow { row[ox] = w0 * top[ox] + w1 * bottom[ox] }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func lerpRow(_ src: UnsafePointer<Float>, _ taps: [(i0: Int, i1: Int, w0: Float, w1: Float)],
                        _ out: UnsafeMutablePointer<Float>) {
        taps.withUnsafeBufferPointer { taps in
            for (o, t) in taps.enumerated() { out[o] = t.w0 * src[t.i0] + t.w1 * src[t.i1] }
        }
    }

    /// For each output index along one axis: the two source indices and their weights (nearest modes
    /// use only `i0`).
    static func resizeTaps(_ outSize: Int, _ inSize: Int, _ scale: Float, _ mode: InterpolationMode)
        -> [(i0: Int, i1: Int, w0: Float, w1: Float)] {
        (0..<outSize).map { o in
            switch mode {
            case .nearest:
                let i = outSize == inSize ? o : (outSize == 2 * inSize ? o >> 1 : Swift.min(Int(floorf(Float(o) * scale)), inSize - 1))
                return (i, i, 1, 0)
            case .nearestExact:
                let i = outSize == inSize ? o : Swift.min(Int(floorf((Float(o) + 0.5) * scale)), inSize - 1)
                return (i, i, 1, 0)
            case .bilinear:
                if outSize == inSize { return (o, o, 1, 0) }
                let s = Swift.max(scale * (Float(o) + 0.5) - 0.5, 0)
                let i0 = Swift.min(Int(s), inSize - 1)
                let i1 = i0 + (i0 < inSize - 1 ? 1 : 0)
                let l1 = Swift.min(Swift.max(s - Float(i0), 0), 1)
                return (i0, i1, 1 - l1, l1)
            }
        }
    }
}
