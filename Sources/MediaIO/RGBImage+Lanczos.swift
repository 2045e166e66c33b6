// Ports Pillow 11.0.0 `src/libImaging/Resample.c` (`ImagingResample` with the LANCZOS filter, 8 bits per channel):
// a sinc windowed by sinc(x/3) on [-3, 3), widened by the downscale factor, weights normalised to sum 1 and rounded
// to 22-bit fixed point; the horizontal pass runs first, then the vertical one, each rounded to bytes.
import Foundation

extension RGBImage {
    /// The picture resized as Pillow's `Image.resize((width, height), Image.LANCZOS)` resizes an RGB picture.
    public func resizedLanczos(width toWidth: Int, height toHeight: Int) -> RGBImage {
        precondition(toWidth > 0 && toHeight > 0, "resizedLanczos: \(toWidth)x\(toHeight)")
        var pixels = self.pixels
        var w = width, h = height
        if toWidth != w {
            pixels = PILResample.pass(pixels, lines: h, count: w, toCount: toWidth, pixelStride: 3, lineStride: w * 3,
                                      outLineStride: toWidth * 3, outPixelStride: 3)
            w = toWidth
        }
        if toHeight != h {
            // Columns are lines whose pixels sit a whole row apart.
            pixels = PILResample.pass(pixels, lines: w, count: h, toCount: toHeight, pixelStride: w * 3, lineStride: 3,
                                      outLineStride: 3, outPixelStride: w * 3)
            h = toHeight
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }
}

enum PILResample {
    /// Pillow's `PRECISION_BITS` for 8-bit resampling (32 - 8 - 2).
    static let precisionBits = 22

    static func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let px = x * Double.pi
        return Foundation.sin(px) / px
    }

    static func lanczos(_ x: Double) -> Double {
        (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0
    }

    /// `precompute_coeffs` and `normalize_coeffs_8bpc`: per output index, the first input index and its weights.
    static func taps(input: Int, output: Int) -> [(start: Int, weights: [Int32])] {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = 3.0 * filterScale
        let inverse = 1 / filterScale
        return (0..<output).map { i in
            let center = (Double(i) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), input)
            var weights = (lo..<max(lo, hi)).map { j in lanczos((Double(j) - center + 0.5) * inverse) }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            let one = Double(1 << precisionBits)
            return (lo, weights.map { Int32($0 < 0 ? -0.5 + $0 * one : 0.5 + $0 * one) })
        }
    }

    /// One separable pass over `lines` lines of `count` RGB pixels each, to `toCount` pixels.
    static func pass(_ src: [UInt8], lines: Int, count: Int, toCount: Int, pixelStride: Int, lineStride: Int,
                     outLineStride: Int, outPixelStride: Int) -> [UInt8] {
        let taps = taps(input: count, output: toCount)
        var out = [UInt8](repeating: 0, count: lines * toCount * 3)
        let half = Int32(1) << Int32(precisionBits - 1)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                for line in 0..<lines {
                    for (o, t) in taps.enumerated() {
                        let base = line * lineStride + t.start * pixelStride
                        for c in 0..<3 {
                            var acc = half
                            for (k, wt) in t.weights.enumerated() { acc &+= wt &* Int32(s[base + k * pixelStride + c]) }
                            let v: UInt8 = acc <= 0 ? 0 : acc >= Int32(1) << Int32(precisionBits + 8) ? 255 : UInt8(acc >> Int32(precisionBits))
                            d[line * outLineStride + o * outPixelStride + c] = v
                        }
                    }
                }
            }
        }
        return out
    }
}
