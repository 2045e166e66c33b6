import MediaIO
import TensorCore

/// The SVIA paper's baseline replacements (Tables I–III): Gaussian blur, pixelization in 8-pixel blocks
/// and a flat gray (127.5) fill. Each changes pixels inside the mask only.
public enum BaselineMethod: Sendable, Equatable {
    /// Gaussian blur; `sigma` in pixels, or nil for 1.5 % of the picture's longer side.
    case blur(sigma: Double?)
    /// Each block of `block`×`block` pixels (aligned to the picture grid) takes its mean colour.
    case pixelate(block: Int)
    /// A flat fill; the paper's 127.5 rounds to 128.
    case graymask(value: UInt8)

    public static let paperBlur = BaselineMethod.blur(sigma: nil)
    public static let paperPixelate = BaselineMethod.pixelate(block: 8)
    public static let paperGraymask = BaselineMethod.graymask(value: 128)

    /// `image` with the pixels inside `mask` replaced; with `feather` > 0 the replacement also fades out
    /// over about that many pixels outside the mask (never inside it).
    public func apply(to image: RGBImage, inside mask: Mask, feather: Int = 0) -> RGBImage {
        precondition(mask.width == image.width && mask.height == image.height,
                     "mask \(mask.width)x\(mask.height) for a \(image.width)x\(image.height) picture")
        if mask.isEmpty { return image }
        let replacement: RGBImage
        switch self {
        case .graymask(let v) where feather == 0:
            var out = image
            for i in 0..<mask.bits.count where mask.bits[i] != 0 {
                out.pixels[3 * i] = v; out.pixels[3 * i + 1] = v; out.pixels[3 * i + 2] = v
            }
            return out
        case .graymask(let v):
            replacement = RGBImage(width: image.width, height: image.height, fill: (v, v, v))
        case .pixelate(let block):
            replacement = BaselineMethod.pixelated(image, block: max(1, block))
        case .blur(let sigma):
            let s = sigma ?? max(2, 0.015 * Double(max(image.width, image.height)))
            replacement = BaselineMethod.gaussianBlurred(image, sigma: s)
        }
        if feather > 0 { return BaselineMethod.blend(replacement, over: image, weights: mask.featherWeights(radius: feather)) }
        return BaselineMethod.composite(replacement, over: image, inside: mask)
    }

    /// `inner` weighted by `weights` (0...1 per pixel) over `outer`.
    public static func blend(_ inner: RGBImage, over outer: RGBImage, weights: [Float]) -> RGBImage {
        var out = outer
        for i in 0..<weights.count where weights[i] > 0 {
            let a = weights[i]
            for k in 0..<3 {
                let v = a * Float(inner.pixels[3 * i + k]) + (1 - a) * Float(outer.pixels[3 * i + k])
                out.pixels[3 * i + k] = UInt8(max(0, min(255, v.rounded())))
            }
        }
        return out
    }

    /// `inner` where the mask is set, `outer` elsewhere.
    public static func composite(_ inner: RGBImage, over outer: RGBImage, inside mask: Mask) -> RGBImage {
        var out = outer
        for i in 0..<mask.bits.count where mask.bits[i] != 0 {
            out.pixels[3 * i] = inner.pixels[3 * i]
            out.pixels[3 * i + 1] = inner.pixels[3 * i + 1]
            out.pixels[3 * i + 2] = inner.pixels[3 * i + 2]
        }
        return out
    }

    static func pixelated(_ image: RGBImage, block: Int) -> RGBImage {
        var out = image
        let w = image.width, h = image.height
        for by in stride(from: 0, to: h, by: block) {
            for bx in stride(from: 0, to: w, by: block) {
                let y1 = min(h, by + block), x1 = min(w, bx + block)
                var sum = (0, 0, 0)
                for y in by..<y1 {
                    for x in bx..<x1 {
                        let i = (y * w + x) * 3
                        sum.0 += Int(image.pixels[i]); sum.1 += Int(image.pixels[i + 1]); sum.2 += Int(image.pixels[i + 2])
                    }
                }
                let n = (y1 - by) * (x1 - bx)
                let mean = (UInt8((sum.0 + n / 2) / n), UInt8((sum.1 + n / 2) / n), UInt8((sum.2 + n / 2) / n))
                for y in by..<y1 {
                    for x in bx..<x1 {
                        let i = (y * w + x) * 3
                        out.pixels[i] = mean.0; out.pixels[i + 1] = mean.1; out.pixels[i + 2] = mean.2
                    }
                }
            }
        }
        return out
    }

    /// Separable Gaussian (kernel radius 3σ), borders replicated. Each pass accumulates whole shifted rows
    /// (one kernel tap at a time) so the inner loop is a contiguous multiply-add the compiler vectorises.
    static func gaussianBlurred(_ image: RGBImage, sigma: Double) -> RGBImage {
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        var kernel = (-radius...radius).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        let w = image.width, h = image.height, row = w * 3
        var tmp = [Float](repeating: 0, count: w * h * 3)
        var outPixels = [UInt8](repeating: 0, count: w * h * 3)
        image.pixels.withUnsafeBufferPointer { src in
            tmp.withUnsafeMutableBufferPointer { t in
                kernel.withUnsafeBufferPointer { k in
                    let s = src.baseAddress!, tp = t.baseAddress!, kp = k.baseAddress!
                    // Horizontal pass: each row padded by `radius` replicated pixels on both sides.
                    ThreadPool.parallelFor(h, minChunk: 8) { rows in
                        let padded = UnsafeMutablePointer<Float>.allocate(capacity: (w + 2 * radius) * 3)
                        defer { padded.deallocate() }
                        for y in rows {
                            let line = s + y * row
                            for x in -radius..<(w + radius) {
                                let sx = min(w - 1, max(0, x)), o = (x + radius) * 3
                                padded[o] = Float(line[sx * 3]); padded[o + 1] = Float(line[sx * 3 + 1])
                                padded[o + 2] = Float(line[sx * 3 + 2])
                            }
                            let acc = tp + y * row
                            for i in 0..<row { acc[i] = 0 }
                            for j in 0...(2 * radius) {
                                let kv = kp[j], shifted = padded + j * 3
                                for i in 0..<row { acc[i] += kv * shifted[i] }
                            }
                        }
                    }
                }
            }
        }
        tmp.withUnsafeBufferPointer { t in
            outPixels.withUnsafeMutableBufferPointer { o in
                kernel.withUnsafeBufferPointer { k in
                    let tp = t.baseAddress!, op = o.baseAddress!, kp = k.baseAddress!
                    // Vertical pass: output row y sums kernel-weighted rows y-r...y+r (clamped).
                    ThreadPool.parallelFor(h, minChunk: 8) { rows in
                        let acc = UnsafeMutablePointer<Float>.allocate(capacity: row)
                        defer { acc.deallocate() }
                        for y in rows {
                            for i in 0..<row { acc[i] = 0 }
                            for j in -radius...radius {
                                let kv = kp[j + radius], line = tp + min(h - 1, max(0, y + j)) * row
                                for i in 0..<row { acc[i] += kv * line[i] }
                            }
                            let out = op + y * row
                            for i in 0..<row { out[i] = UInt8(max(0, min(255, acc[i].rounded()))) }
                        }
                    }
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: outPixels)
    }
}

#if canImport(Glibc)
import Glibc
#endif
