/// Conversion between 8-bit interleaved RGB images and normalised NCHW tensors.
extension Tensor {
    /// [1, 3, H, W] from `height` rows of `width` RGB pixels (row `y` starts at byte `y · rowStride`),
    /// each channel mapped to (value / 255 − mean) / std, as torchvision's `to_tensor` + `normalize`.
    public init(rgb bytes: UnsafeBufferPointer<UInt8>, height: Int, width: Int, rowStride: Int? = nil,
                mean: [Float] = [0, 0, 0], std: [Float] = [1, 1, 1]) {
        let stride = rowStride ?? 3 * width
        precondition(mean.count == 3 && std.count == 3, "Tensor(rgb:): mean and std need three values")
        precondition(height >= 0 && width >= 0 && stride >= 3 * width
                     && (height == 0 || bytes.count >= (height - 1) * stride + 3 * width),
                     "Tensor(rgb:): \(bytes.count) bytes cannot hold \(height)×\(width) pixels with row stride \(stride)")
        // value · a + b with a = 1/(255·std), b = −mean/std.
        let a = std.map { 1 / (255 * $0) }, b = (0..<3).map { -mean[$0] / std[$0] }
        let plane = height * width
        self.init(shape: [1, 3, height, width]) { out in
            guard plane > 0 else { return }
            let src = bytes.baseAddress!, po = out.baseAddress!
            ThreadPool.parallelFor(height, minChunk: Swift.max(1, 16384 / width)) { rows in
                for y in rows {
                    let row = src + y * stride
                    for c in 0..<3 {
                        let dst = po + c * plane + y * width, ac = a[c], bc = b[c]
                        for x in 0..<width { dst[x] = Float(row[3 * x + c]) * ac + bc }
                    }
                }
            }
        }
    }

    /// Interleaved RGB bytes (H·W·3) of a [1, 3, H, W] or [3, H, W] tensor: each value is mapped back by
    /// x · std + mean, clamped to [0, 1], scaled by 255 and rounded half to even, as diffusers'
    /// `numpy_to_pil` (`(x * 255).round().astype("uint8")`).
    public func rgbBytes(mean: [Float] = [0, 0, 0], std: [Float] = [1, 1, 1]) -> [UInt8] {
        precondition((rank == 4 && shape[0] == 1 && shape[1] == 3) || (rank == 3 && shape[0] == 3),
                     "rgbBytes: tensor must be [1, 3, H, W] or [3, H, W], got \(shape)")
        precondition(mean.count == 3 && std.count == 3, "rgbBytes: mean and std need three values")
        let h = shape[rank - 2], w = shape[rank - 1], plane = h * w
        let src = contiguous()
        return [UInt8](unsafeUninitializedCapacity: 3 * plane) { out, initialized in
            if plane > 0 {
                let pi = src.storage.base + src.offset, po = out.baseAddress!
                ThreadPool.parallelFor(h, minChunk: Swift.max(1, 16384 / w)) { rows in
                    for y in rows {
                        for c in 0..<3 {
                            let s = std[c], m = mean[c], x = pi + c * plane + y * w, dst = po + 3 * y * w + c
                            for i in 0..<w {
                                let t = x[i] * s + m
                                let v = t > 0 ? (t < 1 ? t : 1) : 0  // NaN → 0
                                dst[3 * i] = UInt8((v * 255).rounded(.toNearestOrEven))
                            }
                        }
                    }
                }
            }
            initialized = 3 * plane
        }
    }
}
