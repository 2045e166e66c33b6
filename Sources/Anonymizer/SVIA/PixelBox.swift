import MediaIO

/// A rectangle of a picture, in pixels: what a local pass cuts out and puts back.
struct PixelBox: Equatable, Sendable {
    var x: Int, y: Int, width: Int, height: Int
}

extension RGBImage {
    func cropped(_ box: PixelBox) -> RGBImage {
        if box.x == 0 && box.y == 0 && box.width == width && box.height == height { return self }
        var out = [UInt8](repeating: 0, count: box.width * box.height * 3)
        for y in 0..<box.height {
            let from = ((box.y + y) * width + box.x) * 3
            out.replaceSubrange(y * box.width * 3..<(y + 1) * box.width * 3, with: pixels[from..<from + box.width * 3])
        }
        return RGBImage(width: box.width, height: box.height, pixels: out)
    }

    /// Puts `part` (of `box`'s size) back at `box`, only where `mask` (of this picture's size) is set.
    mutating func paste(_ part: RGBImage, at box: PixelBox, inside mask: Mask) {
        precondition(part.width == box.width && part.height == box.height, "RGBImage.paste: part of another size")
        for y in 0..<box.height {
            for x in 0..<box.width where mask.bits[(box.y + y) * width + box.x + x] != 0 {
                let o = ((box.y + y) * width + box.x + x) * 3, i = (y * box.width + x) * 3
                pixels[o] = part.pixels[i]
                pixels[o + 1] = part.pixels[i + 1]
                pixels[o + 2] = part.pixels[i + 2]
            }
        }
    }
}

extension Mask {
    func cropped(_ box: PixelBox) -> Mask {
        if box.x == 0 && box.y == 0 && box.width == width && box.height == height { return self }
        var out = Mask(width: box.width, height: box.height)
        for y in 0..<box.height {
            for x in 0..<box.width { out.bits[y * box.width + x] = bits[(box.y + y) * width + box.x + x] }
        }
        return out
    }
}
