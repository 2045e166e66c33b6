import Foundation

/// A point in pixel coordinates (x right, y down).
public struct Point: Sendable, Equatable, Hashable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) { self.x = x; self.y = y }
}

/// The plane geometry DBNet post-processing needs, written to give what OpenCV and Clipper give:
/// convex hull, minimum-area rectangle (cv2.minAreaRect + boxPoints), rounded polygon offset
/// (Clipper 6.4.2 `ClipperOffset` with JT_ROUND on integer coordinates), and polygon rasterisation.
enum PolygonGeometry {
    /// Convex hull, counter-clockwise in a y-up frame (Andrew's monotone chain); collinear points dropped.
    static func convexHull(_ points: [Point]) -> [Point] {
        let p = Array(Set(points)).sorted { $0.x != $1.x ? $0.x < $1.x : $0.y < $1.y }
        if p.count < 3 { return p }
        func cross(_ o: Point, _ a: Point, _ b: Point) -> Double { (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x) }
        var lower: [Point] = [], upper: [Point] = []
        for q in p {
            while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], q) <= 0 { lower.removeLast() }
            lower.append(q)
        }
        for q in p.reversed() {
            while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], q) <= 0 { upper.removeLast() }
            upper.append(q)
        }
        return Array(lower.dropLast() + upper.dropLast())
    }

    /// The smallest-area enclosing rectangle: its four corners and its side lengths.
    /// One side of the optimum lies on a hull edge, so every edge direction is tried (rotating calipers).
    static func minAreaRect(_ points: [Point]) -> (corners: [Point], width: Double, height: Double) {
        let hull = convexHull(points)
        if hull.count == 1 { return ([hull[0], hull[0], hull[0], hull[0]], 0, 0) }
        if hull.count == 2 {
            let a = hull[0], b = hull[1]
            return ([a, b, b, a], ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot(), 0)
        }
        var best: (area: Double, ux: Double, uy: Double, minU: Double, maxU: Double, minV: Double, maxV: Double)?
        for i in hull.indices {
            let a = hull[i], b = hull[(i + 1) % hull.count]
            let len = ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot()
            guard len > 0 else { continue }
            let ux = (b.x - a.x) / len, uy = (b.y - a.y) / len
            var minU = Double.infinity, maxU = -Double.infinity, minV = Double.infinity, maxV = -Double.infinity
            for q in hull {
                let u = q.x * ux + q.y * uy, v = -q.x * uy + q.y * ux
                minU = min(minU, u); maxU = max(maxU, u); minV = min(minV, v); maxV = max(maxV, v)
            }
            let area = (maxU - minU) * (maxV - minV)
            if best == nil || area < best!.area - 1e-9 { best = (area, ux, uy, minU, maxU, minV, maxV) }
        }
        guard let r = best else { return ([hull[0], hull[0], hull[0], hull[0]], 0, 0) }
        func corner(_ u: Double, _ v: Double) -> Point { Point(x: u * r.ux - v * r.uy, y: u * r.uy + v * r.ux) }
        let corners = [corner(r.minU, r.minV), corner(r.maxU, r.minV), corner(r.maxU, r.maxV), corner(r.minU, r.maxV)]
        // OpenCV returns float32 corners.
        let rounded = corners.map { Point(x: Double(Float($0.x)), y: Double(Float($0.y))) }
        return (rounded, r.maxU - r.minU, r.maxV - r.minV)
    }

    /// Signed area (positive when counter-clockwise in a y-up frame) and perimeter of a closed polygon.
    static func areaAndPerimeter(_ p: [Point]) -> (area: Double, perimeter: Double) {
        var a = 0.0, l = 0.0
        for i in p.indices {
            let q = p[i], r = p[(i + 1) % p.count]
            a += q.x * r.y - r.x * q.y
            l += ((r.x - q.x) * (r.x - q.x) + (r.y - q.y) * (r.y - q.y)).squareRoot()
        }
        return (a / 2, l)
    }

    /// A closed polygon grown outward by `delta` with round corners, as Clipper's ClipperOffset
    /// (JT_ROUND, ET_CLOSEDPOLYGON, arc tolerance 0.25): input coordinates truncated to integers as
    /// pyclipper does, output points rounded half away from zero.
    static func offsetRound(_ polygon: [Point], delta: Double) -> [Point] {
        var src = polygon.map { Point(x: $0.x.rounded(.towardZero), y: $0.y.rounded(.towardZero)) }
        var dedup: [Point] = []
        for q in src where dedup.last != q { dedup.append(q) }
        while dedup.count > 1 && dedup.first == dedup.last { dedup.removeLast() }
        src = dedup
        guard src.count >= 3, delta > 0 else { return src }
        if areaAndPerimeter(src).area < 0 { src.reverse() }
        let tolerance = min(0.25, abs(delta) * 0.25)
        var steps = Double.pi / acos(1 - tolerance / abs(delta))
        if steps > abs(delta) * Double.pi { steps = abs(delta) * Double.pi }
        let sinStep = sin(2 * Double.pi / steps), cosStep = cos(2 * Double.pi / steps)
        let stepsPerRad = steps / (2 * Double.pi)
        func clipperRound(_ v: Double) -> Double { v < 0 ? (v - 0.5).rounded(.towardZero) : (v + 0.5).rounded(.towardZero) }
        let n = src.count
        // Outward unit normal of edge j (from point j to j+1) for a counter-clockwise (y-up) polygon.
        let normals: [Point] = (0..<n).map { j in
            let a = src[j], b = src[(j + 1) % n]
            let dx = b.x - a.x, dy = b.y - a.y, len = (dx * dx + dy * dy).squareRoot()
            return len == 0 ? Point(x: 0, y: 0) : Point(x: dy / len, y: -dx / len)
        }
        var out: [Point] = []
        func add(_ x: Double, _ y: Double) { out.append(Point(x: clipperRound(x), y: clipperRound(y))) }
        var k = n - 1
        for j in 0..<n {
            let nk = normals[k], nj = normals[j], p = src[j]
            var sinA = nk.x * nj.y - nj.x * nk.y
            let cosA = nk.x * nj.x + nk.y * nj.y
            if abs(sinA * delta) < 1 && cosA > 0 {
                add(p.x + nk.x * delta, p.y + nk.y * delta)
            } else {
                sinA = min(max(sinA, -1), 1)
                if sinA * delta < 0 {
                    add(p.x + nk.x * delta, p.y + nk.y * delta)
                    out.append(p)
                    add(p.x + nj.x * delta, p.y + nj.y * delta)
                } else {
                    let a = atan2(sinA, cosA)
                    let count = max(Int(clipperRound(stepsPerRad * abs(a))), 1)
                    var x = nk.x, y = nk.y
                    for _ in 0..<count {
                        add(p.x + x * delta, p.y + y * delta)
                        let x2 = x
                        x = x * cosStep - sinStep * y
                        y = x2 * sinStep + y * cosStep
                    }
                    add(p.x + nj.x * delta, p.y + nj.y * delta)
                }
            }
            k = j
        }
        return out
    }

    /// Sets to 1 every pixel whose centre lies inside or on the boundary of `polygon` (any simple polygon,
    /// even-odd rule), clipped to the `width`×`height` mask.
    static func fill(_ polygon: [Point], into mask: inout [UInt8], width: Int, height: Int) {
        guard polygon.count >= 3 else { return }
        let ys = polygon.map(\.y)
        let y0 = max(0, Int(ys.min()!.rounded(.up))), y1 = min(height - 1, Int(ys.max()!.rounded(.down)))
        guard y0 <= y1 else { return }
        let n = polygon.count
        for y in y0...y1 {
            let fy = Double(y)
            var xs: [Double] = []
            var onEdge: [(Double, Double)] = []
            for i in 0..<n {
                let a = polygon[i], b = polygon[(i + 1) % n]
                if a.y == b.y {
                    if a.y == fy { onEdge.append((min(a.x, b.x), max(a.x, b.x))) }
                    continue
                }
                // Half-open in y so a vertex shared by two edges is counted once.
                let lo = min(a.y, b.y), hi = max(a.y, b.y)
                if fy >= lo && fy < hi { xs.append(a.x + (fy - a.y) * (b.x - a.x) / (b.y - a.y)) }
                if fy == hi { onEdge.append((hi == a.y ? a.x : b.x, hi == a.y ? a.x : b.x)) }
            }
            xs.sort()
            var spans = onEdge
            var i = 0
            while i + 1 < xs.count { spans.append((xs[i], xs[i + 1])); i += 2 }
            let row = y * width
            for (l, r) in spans {
                let xa = max(0, Int((l - 1e-9).rounded(.up))), xb = min(width - 1, Int((r + 1e-9).rounded(.down)))
                if xa <= xb { for x in xa...xb { mask[row + x] = 1 } }
            }
        }
    }
}
