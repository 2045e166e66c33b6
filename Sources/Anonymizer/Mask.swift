import MediaIO

/// A binary region of a picture: 1 inside, 0 outside.
public struct Mask: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var bits: [UInt8]

    public init(width: Int, height: Int, bits: [UInt8]) {
        precondition(bits.count == width * height, "Mask: \(bits.count) values for \(width)x\(height)")
        self.width = width
        self.height = height
        self.bits = bits
    }

    public init(width: Int, height: Int) {
        self.init(width: width, height: height, bits: [UInt8](repeating: 0, count: width * height))
    }

    /// Pixels inside the mask.
    public var area: Int { bits.reduce(0) { $0 + Int($1) } }
    public var isEmpty: Bool { !bits.contains(1) }
    /// Share of the picture inside the mask (0...1).
    public var coverage: Double { Double(area) / Double(max(1, width * height)) }

    @inlinable public subscript(x: Int, y: Int) -> Bool { bits[y * width + x] != 0 }

    /// Union with another mask of the same size.
    public func union(_ other: Mask) -> Mask {
        precondition(other.width == width && other.height == height, "Mask.union: size mismatch")
        var out = self
        for i in 0..<bits.count where other.bits[i] != 0 { out.bits[i] = 1 }
        return out
    }

    /// The mask grown by `radius` pixels in every direction (a disc), so region edges do not leak.
    public func dilated(by radius: Int) -> Mask {
        guard radius > 0, !isEmpty else { return self }
        // Distance to the nearest inside pixel along rows, then a disc test per column offset.
        let w = width, h = height
        let far = Int.max / 4
        var rowDistance = [Int](repeating: far, count: w * h)
        for y in 0..<h {
            var last = -far
            for x in 0..<w {
                if bits[y * w + x] != 0 { last = x }
                rowDistance[y * w + x] = x - last
            }
            last = far * 2
            for x in stride(from: w - 1, through: 0, by: -1) {
                if bits[y * w + x] != 0 { last = x }
                rowDistance[y * w + x] = min(rowDistance[y * w + x], last - x)
            }
        }
        var out = Mask(width: w, height: h)
        let r2 = radius * radius
        for y in 0..<h {
            for x in 0..<w {
                var inside = false
                for dy in max(-radius, -y)...min(radius, h - 1 - y) {
                    let dx = rowDistance[(y + dy) * w + x]
                    if dx <= radius && dx * dx + dy * dy <= r2 { inside = true; break }
                }
                if inside { out.bits[y * w + x] = 1 }
            }
        }
        return out
    }

    /// Nearest-neighbour resize (label maps made at another size).
    public func resized(width newW: Int, height newH: Int) -> Mask {
        if newW == width && newH == height { return self }
        var out = Mask(width: newW, height: newH)
        for y in 0..<newH {
            let sy = min(height - 1, (y * height) / newH)
            for x in 0..<newW {
                let sx = min(width - 1, (x * width) / newW)
                out.bits[y * newW + x] = bits[sy * width + sx]
            }
        }
        return out
    }

    /// 0/255 picture for writing as PNG.
    public var grayImage: GrayImage {
        GrayImage(width: width, height: height, pixels: bits.map { $0 != 0 ? 255 : 0 })
    }
}
