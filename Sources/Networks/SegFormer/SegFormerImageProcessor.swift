// Ports transformers 5.23.0 `models/segformer/image_processing_pil_segformer.py` (`SegformerImageProcessorPil`, what
// `SegformerImageProcessor` falls back to without torchvision) for packed RGB24 input: PIL's BILINEAR resize of the
// uint8 image (a triangle filter widened by the downscale factor, 22-bit fixed-point weights, two passes each rounded
// to uint8, in Pillow 13's order), rescale by 1/255,
// ImageNet mean/std; and the post-processing of logits to a class map.
import TensorCore

/// Turns RGB24 frames into the normalised pixels SegFormer expects.
public struct SegFormerImageProcessor: Sendable {
    public var mean: [Float] = [0.485, 0.456, 0.406]
    public var std: [Float] = [0.229, 0.224, 0.225]
    public var rescaleFactor: Float = 1 / 255

    public init() {}

    /// RGB24 `rgb` (`width`×`height`) → pixel values [1, 3, size.height, size.width].
    public func pixelValues(rgb: [UInt8], width: Int, height: Int, size: (width: Int, height: Int)) -> Tensor {
        precondition(rgb.count == width * height * 3, "pixelValues: \(rgb.count) bytes for \(width)x\(height) RGB")
        let resized = SegFormerImageProcessor.resizeRGB(rgb, width: width, height: height, toWidth: size.width,
                                                        toHeight: size.height)
        let plane = size.width * size.height
        let scale = (0..<3).map { rescaleFactor / std[$0] }, shift = (0..<3).map { mean[$0] / std[$0] }
        return Tensor(shape: [1, 3, size.height, size.width]) { out in
            resized.withUnsafeBufferPointer { src in
                for p in 0..<plane {
                    for c in 0..<3 { out[c * plane + p] = Float(src[p * 3 + c]) * scale[c] - shift[c] }
                }
            }
        }
    }

    /// Antialiased bilinear resize of packed RGB24, as Pillow's `Image.resize(BILINEAR)` does.
    public static func resizeRGB(_ rgb: [UInt8], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [UInt8] {
        // Pillow 13 runs the vertical pass first when it shrinks rows while the horizontal pass widens them, else
        // horizontal first (checked against Pillow on all four combinations); the rounding in between makes it matter.
        if toHeight < height && toWidth > width {
            let shrunk = resizeVertically(rgb, width: width, height: height, toHeight: toHeight)
            return resizeHorizontally(shrunk, width: width, height: toHeight, toWidth: toWidth)
        }
        let widened = resizeHorizontally(rgb, width: width, height: height, toWidth: toWidth)
        return resizeVertically(widened, width: toWidth, height: height, toHeight: toHeight)
    }

    static func resizeHorizontally(_ img: [UInt8], width: Int, height: Int, toWidth: Int) -> [UInt8] {
        if toWidth == width { return img }
        return resample(img, lines: height, inCount: width, outCount: toWidth, step: 3, lineStride: width * 3,
                        outLineStride: toWidth * 3, taps: antialiasTaps(input: width, output: toWidth))
    }

    /// Vertical pass: each output row mixes whole input rows.
    static func resizeVertically(_ img: [UInt8], width w: Int, height: Int, toHeight: Int) -> [UInt8] {
        if toHeight == height { return img }
        let taps = antialiasTaps(input: height, output: toHeight)
        var out = [UInt8](repeating: 0, count: w * toHeight * 3)
        img.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let rowBytes = w * 3
                ThreadPool.parallelFor(toHeight) { range in
                    for y in range {
                        let t = taps[y]
                        for j in 0..<rowBytes {
                            var acc = Int64(1) << Int64(precisionBits - 1)
                            for (i, wt) in t.weights.enumerated() { acc += Int64(wt) * Int64(src[(t.start + i) * rowBytes + j]) }
                            dst[y * rowBytes + j] = clipByte(acc)
                        }
                    }
                }
            }
        }
        return out
    }

    static func resample(_ img: [UInt8], lines: Int, inCount: Int, outCount: Int, step: Int, lineStride: Int,
                         outLineStride: Int, taps: [(start: Int, weights: [Int32])]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: lines * outLineStride)
        img.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                ThreadPool.parallelFor(lines) { range in
                    for line in range {
                        for o in 0..<outCount {
                            let t = taps[o]
                            for c in 0..<step {
                                var acc = Int64(1) << Int64(precisionBits - 1)
                                for (i, wt) in t.weights.enumerated() {
                                    acc += Int64(wt) * Int64(src[line * lineStride + (t.start + i) * step + c])
                                }
                                dst[line * outLineStride + o * step + c] = clipByte(acc)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// PIL's `PRECISION_BITS` for 8-bit resampling.
    static let precisionBits = 22

    /// Fixed-point sum (with its rounding half added up front) to a clipped byte.
    @inline(__always)
    static func clipByte(_ acc: Int64) -> UInt8 { UInt8(max(0, min(255, acc >> Int64(precisionBits)))) }

    /// Triangle-filter taps of `_upsample_bilinear2d_aa` (`_compute_indices_weights_aa`): support widens
    /// with the downscale factor; weights are normalised to sum 1.
    static func antialiasTaps(input: Int, output: Int) -> [(start: Int, weights: [Int32])] {
        let scale = Double(input) / Double(output)
        let support = scale >= 1 ? scale : 1
        let invScale = scale >= 1 ? 1 / scale : 1
        return (0..<output).map { i in
            let center = scale * (Double(i) + 0.5)
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), input)
            var weights = (lo..<hi).map { j in max(0, 1 - abs((Double(j) - center + 0.5) * invScale)) }
            let total = weights.reduce(0, +)
            if total > 0 { weights = weights.map { $0 / total } }
            return (lo, weights.map { Int32(($0 * Double(1 << precisionBits) + ($0 < 0 ? -0.5 : 0.5)).rounded(.towardZero)) })
        }
    }
}

extension SegFormerKernels {
    /// `post_process_semantic_segmentation`: logits tokens [h·w, K] bilinearly resized (align_corners=False)
    /// to H×W, then the first index of the largest value per pixel.
    static func argmaxResized(_ logits: Tensor, height h: Int, width w: Int, classes k: Int, toHeight: Int,
                              toWidth: Int) -> [UInt8] {
        let yTaps = bilinearTaps(input: h, output: toHeight), xTaps = bilinearTaps(input: w, output: toWidth)
        var out = [UInt8](repeating: 0, count: toHeight * toWidth)
        logits.withUnsafeBufferPointer { lp in
            out.withUnsafeMutableBufferPointer { dst in
                let base = lp.baseAddress!
                ThreadPool.parallelFor(toHeight) { range in
                    for y in range {
                        let ty = yTaps[y]
                        let a = base + ty.i0 * w * k, b = base + ty.i1 * w * k
                        let wy1 = ty.w1, wy0 = 1 - wy1
                        for x in 0..<toWidth {
                            let tx = xTaps[x]
                            let wx1 = tx.w1, wx0 = 1 - wx1
                            let p00 = a + tx.i0 * k, p01 = a + tx.i1 * k, p10 = b + tx.i0 * k, p11 = b + tx.i1 * k
                            var best = -Float.infinity, arg = 0
                            for j in 0..<k {
                                let v = wy0 * (wx0 * p00[j] + wx1 * p01[j]) + wy1 * (wx0 * p10[j] + wx1 * p11[j])
                                if v > best { best = v; arg = j }
                            }
                            dst[y * toWidth + x] = UInt8(arg)
                        }
                    }
                }
            }
        }
        return out
    }
}
