import MediaIO

/// Gray pictures made from colour frames: what motion estimation and scene-cut detection look at.
public enum Luma {
    /// BT.601 luma (Y = 0.299 R + 0.587 G + 0.114 B) of `image`, area-averaged down (or up) to
    /// `width` x `height`. Every output pixel is the exact area-weighted mean of the source pixels its
    /// footprint covers, so detail finer than a thumbnail pixel averages out instead of aliasing, and a
    /// same-size call gives the plain per-pixel luma.
    public static func thumbnail(_ image: RGBImage, width: Int, height: Int) -> GrayImage {
        precondition(width > 0 && height > 0, "Luma.thumbnail: empty size \(width)x\(height)")
        let sw = image.width, sh = image.height
        var luma = [Float](repeating: 0, count: sw * sh)
        image.pixels.withUnsafeBufferPointer { p in
            luma.withUnsafeMutableBufferPointer { l in
                for i in 0..<(sw * sh) {
                    l[i] = 0.299 * Float(p[3 * i]) + 0.587 * Float(p[3 * i + 1]) + 0.114 * Float(p[3 * i + 2])
                }
            }
        }
        if width == sw && height == sh { return GrayImage(width: width, height: height, pixels: luma.map(toByte)) }

        let fx = Footprints(source: sw, target: width)
        let fy = Footprints(source: sh, target: height)
        // Columns first (sh x width), then rows.
        var rowsDone = [Float](repeating: 0, count: sh * width)
        var out = [UInt8](repeating: 0, count: width * height)
        luma.withUnsafeBufferPointer { l in
            rowsDone.withUnsafeMutableBufferPointer { r in
                for y in 0..<sh {
                    let row = y * sw
                    for x in 0..<width {
                        var acc: Float = 0
                        for k in fx.start[x]..<fx.start[x + 1] { acc += fx.weight[k] * l[row + fx.index[k]] }
                        r[y * width + x] = acc
                    }
                }
            }
        }
        rowsDone.withUnsafeBufferPointer { r in
            out.withUnsafeMutableBufferPointer { o in
                for y in 0..<height {
                    for x in 0..<width {
                        var acc: Float = 0
                        for k in fy.start[y]..<fy.start[y + 1] { acc += fy.weight[k] * r[fy.index[k] * width + x] }
                        o[y * width + x] = toByte(acc)
                    }
                }
            }
        }
        return GrayImage(width: width, height: height, pixels: out)
    }

    /// For each target index t, the source indices its footprint [t*s/n, (t+1)*s/n) overlaps and the
    /// overlap share of each (weights sum to 1): entries start[t]..<start[t+1] of index / weight.
    struct Footprints {
        var start: [Int] = [0]
        var index: [Int] = []
        var weight: [Float] = []

        init(source s: Int, target n: Int) {
            let scale = Double(s) / Double(n)
            for t in 0..<n {
                let a = Double(t) * scale, b = Double(t + 1) * scale
                var j = Int(a.rounded(.down))
                while Double(j) < b && j < s {
                    let overlap = min(b, Double(j + 1)) - max(a, Double(j))
                    if overlap > 1e-12 { index.append(j); weight.append(Float(overlap / scale)) }
                    j += 1
                }
                start.append(index.count)
            }
        }
    }

    @inline(__always) static func toByte(_ v: Float) -> UInt8 {
        // Round half up; values are never negative, so +0.5 and truncation does it without a libm call.
        UInt8(max(0, min(255, v + 0.5)))
    }
}
