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

    /// Pixels inside both masks (of the same size).
    public func intersection(_ other: Mask) -> Mask {
        precondition(other.width == width && other.height == height, "Mask.intersection: size mismatch")
        var out = self
        for i in 0..<bits.count where other.bits[i] == 0 { out.bits[i] = 0 }
        return out
    }

    /// Pixels of this mask outside `other` (of the same size).
    public func subtracting(_ other: Mask) -> Mask {
        precondition(other.width == width && other.height == height, "Mask.subtracting: size mismatch")
        var out = self
        for i in 0..<bits.count where other.bits[i] != 0 { out.bits[i] = 0 }
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

extension Mask {
    /// The mask without connected regions (4-neighbour) smaller than `minArea` pixels: segmentation
    /// specks that would flicker in video. Larger regions are kept whole.
    public func removingSpecks(minArea: Int) -> Mask {
        guard minArea > 1, !isEmpty else { return self }
        var out = self
        var label = [Int32](repeating: -1, count: bits.count)
        var stack: [Int] = []
        var component: [Int] = []
        for start in 0..<bits.count where bits[start] != 0 && label[start] < 0 {
            component.removeAll(keepingCapacity: true)
            stack.append(start)
            label[start] = 1
            while let p = stack.popLast() {
                component.append(p)
                let x = p % width, y = p / width
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                where nx >= 0 && ny >= 0 && nx < width && ny < height {
                    let q = ny * width + nx
                    if bits[q] != 0 && label[q] < 0 { label[q] = 1; stack.append(q) }
                }
            }
            if component.count < minArea { for p in component { out.bits[p] = 0 } }
        }
        return out
    }

    /// Blend weights for composition: 1 everywhere inside the mask, falling smoothly to 0 within about
    /// `radius` pixels outside it. Soft edges only ever reach outward, so no original pixel inside the
    /// mask survives.
    public func featherWeights(radius: Int) -> [Float] {
        var w = bits.map { Float($0) }
        guard radius > 0, !isEmpty else { return w }
        // Two box passes of the mask grown by half the radius approximate a smooth ramp across the edge.
        let grown = dilated(by: max(1, radius / 2))
        var soft = grown.bits.map { Float($0) }
        let r = max(1, radius / 2)
        for _ in 0..<2 { soft = Mask.boxBlur(soft, width: width, height: height, radius: r) }
        for i in 0..<w.count { w[i] = max(w[i], min(1, soft[i])) }
        return w
    }

    static func boxBlur(_ v: [Float], width w: Int, height h: Int, radius r: Int) -> [Float] {
        var tmp = [Float](repeating: 0, count: v.count), out = tmp
        let n = Float(2 * r + 1)
        for y in 0..<h {
            var acc: Float = 0
            for x in -r...r { acc += v[y * w + min(w - 1, max(0, x))] }
            for x in 0..<w {
                tmp[y * w + x] = acc / n
                acc += v[y * w + min(w - 1, x + r + 1)] - v[y * w + max(0, x - r)]
            }
        }
        for x in 0..<w {
            var acc: Float = 0
            for y in -r...r { acc += tmp[min(h - 1, max(0, y)) * w + x] }
            for y in 0..<h {
                out[y * w + x] = acc / n
                acc += tmp[min(h - 1, y + r + 1) * w + x] - tmp[max(0, y - r) * w + x]
            }
        }
        return out
    }
}
