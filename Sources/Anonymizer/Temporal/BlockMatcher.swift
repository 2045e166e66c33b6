import MediaIO

/// Block-matching motion estimation between consecutive gray frames (see `MotionField` for the
/// convention).
///
/// For every `blockSize` block of the current frame, the displacement (u, v) with |u|, |v| <=
/// `searchRadius` that minimises the sum of absolute differences (SAD) against the previous frame is
/// found; displaced blocks must lie inside the previous frame. Zero motion is kept unless another
/// candidate beats it by more than `zeroBias` grey levels per pixel, so static scenes and flat areas
/// give exact zeros instead of noise-driven jitter. The integer match is then refined to sub-pixel
/// precision by the least-squares paraboloid through the SAD of its 3x3 neighbourhood (a per-axis
/// parabola through u-1, u, u+1 where part of that neighbourhood is out of range), clamped to half a
/// pixel; the 2-D fit is markedly steadier than per-axis parabolas when both axes move by fractions.
/// Exact integer matches (mean difference under half a grey level) are not refined.
///
/// `estimate` searches coarse-to-fine: a full search on a 2x2-averaged pyramid level where the radius
/// is small, then at each finer level only a few predicted vectors (the doubled coarse vectors of the
/// parent and its nearest neighbours, the already-found left and upper neighbours, zero) each checked
/// with its 3x3 neighbourhood, followed by a descent until the best vector is a local minimum.
/// `estimateFullSearch` is the plain exhaustive version with the same decision rules, kept as the
/// reference the fast search is checked against.
public struct BlockMatcher: Sendable {
    public let blockSize: Int
    public let searchRadius: Int
    /// How much better (mean absolute difference, grey levels) a moving candidate must match than
    /// zero motion to be taken.
    public var zeroBias: Float
    /// Refined motion within this many pixels of zero is reported as exactly zero.
    public var zeroDeadZone: Float

    /// The search radius at which the pyramid stops getting coarser and searches exhaustively.
    static let coarseRadius = 4

    public init(blockSize: Int = 8, searchRadius: Int = 16, zeroBias: Float = 1, zeroDeadZone: Float = 0.1) {
        precondition(blockSize >= 2 && blockSize <= 1024, "BlockMatcher: block size \(blockSize) not in 2...1024")
        precondition(searchRadius >= 0, "BlockMatcher: negative search radius \(searchRadius)")
        self.blockSize = blockSize
        self.searchRadius = searchRadius
        self.zeroBias = zeroBias
        self.zeroDeadZone = zeroDeadZone
    }

    // MARK: Fast search

    public func estimate(previous: GrayImage, current: GrayImage) -> MotionField {
        Self.checkSizes(previous, current)
        var prevLevels = [Plane(previous)], curLevels = [Plane(current)]
        var radii = [searchRadius]
        while radii.last! > Self.coarseRadius {
            let top = prevLevels.last!
            guard (top.width + 1) / 2 >= 2 * blockSize && (top.height + 1) / 2 >= 2 * blockSize else { break }
            prevLevels.append(top.halved())
            curLevels.append(curLevels.last!.halved())
            radii.append((radii.last! + 1) / 2)
        }
        var result: LevelResult? = nil
        for level in stride(from: prevLevels.count - 1, through: 0, by: -1) {
            result = searchLevel(previous: prevLevels[level], current: curLevels[level],
                                 radius: radii[level], parent: result)
        }
        return finishField(previous: prevLevels[0], current: curLevels[0], level: result!)
    }

    /// Integer vectors of one pyramid level.
    struct LevelResult {
        var columns: Int
        var rows: Int
        var best: [Candidate]
        var zeroSAD: [Int]
    }

    func searchLevel(previous: Plane, current: Plane, radius r: Int, parent: LevelResult?) -> LevelResult {
        let w = current.width, h = current.height, b = blockSize
        let cols = (w + b - 1) / b, rows = (h + b - 1) / b
        var out = LevelResult(columns: cols, rows: rows, best: [], zeroSAD: [])
        out.best.reserveCapacity(cols * rows)
        out.zeroSAD.reserveCapacity(cols * rows)
        let side = 2 * r + 1
        var visited = [Int32](repeating: 0, count: side * side)
        var expanded = visited
        var predictors: [(Int, Int)] = []
        predictors.reserveCapacity(8)
        previous.pixels.withUnsafeBufferPointer { pp in
            current.pixels.withUnsafeBufferPointer { cp in
                for by in 0..<rows {
                    for bx in 0..<cols {
                        let stamp = Int32(by * cols + bx + 1)
                        let x0 = bx * b, y0 = by * b, bw = min(b, w - x0), bh = min(b, h - y0)
                        let uMin = max(-r, -x0), uMax = min(r, w - bw - x0)
                        let vMin = max(-r, -y0), vMax = min(r, h - bh - y0)
                        let curBase = cp.baseAddress! + (y0 * w + x0)
                        let prevBase = pp.baseAddress! + (y0 * w + x0)
                        let zero = Self.sad(curBase, prevBase, stride: w, width: bw, height: bh, limit: Int.max)
                        var best = Candidate(u: 0, v: 0, sad: zero)
                        visited[r * side + r] = stamp

                        @inline(__always) func evaluate(_ u: Int, _ v: Int) {
                            guard u >= uMin && u <= uMax && v >= vMin && v <= vMax else { return }
                            let k = (v + r) * side + (u + r)
                            guard visited[k] != stamp else { return }
                            visited[k] = stamp
                            let s = Self.sad(curBase, prevBase + (v * w + u), stride: w, width: bw, height: bh,
                                             limit: best.sad)
                            if Self.isBetter(s, u, v, than: best) { best = Candidate(u: u, v: v, sad: s) }
                        }
                        @inline(__always) func expand(_ u: Int, _ v: Int) {
                            let k = (v + r) * side + (u + r)
                            guard expanded[k] != stamp else { return }
                            expanded[k] = stamp
                            for dv in -1...1 { for du in -1...1 { evaluate(u + du, v + dv) } }
                        }

                        if let parent {
                            predictors.removeAll(keepingCapacity: true)
                            // Parent block (the one under this block's centre) and its nearest neighbours.
                            let px = (x0 + bw / 2) / 2, py = (y0 + bh / 2) / 2
                            let pc = min(parent.columns - 1, px / b), pr = min(parent.rows - 1, py / b)
                            let nc = min(parent.columns - 1, max(0, px % b < b / 2 ? pc - 1 : pc + 1))
                            let nr = min(parent.rows - 1, max(0, py % b < b / 2 ? pr - 1 : pr + 1))
                            for (c, rr) in [(pc, pr), (nc, pr), (pc, nr)] {
                                let p = parent.best[rr * parent.columns + c]
                                predictors.append((2 * p.u, 2 * p.v))
                            }
                            // Neighbours already found at this level.
                            if bx > 0 { let p = out.best[by * cols + bx - 1]; predictors.append((p.u, p.v)) }
                            if by > 0 {
                                let p = out.best[(by - 1) * cols + bx]; predictors.append((p.u, p.v))
                                if bx + 1 < cols {
                                    let q = out.best[(by - 1) * cols + bx + 1]; predictors.append((q.u, q.v))
                                }
                            }
                            predictors.append((0, 0))
                            for (u, v) in predictors {
                                expand(min(uMax, max(uMin, u)), min(vMax, max(vMin, v)))
                            }
                            // Descend until the best vector's 3x3 neighbourhood has been checked.
                            var steps = 0
                            while steps < 4 * r + 4 {
                                let k = (best.v + r) * side + (best.u + r)
                                if expanded[k] == stamp { break }
                                expand(best.u, best.v)
                                steps += 1
                            }
                        } else {
                            for v in vMin...vMax { for u in uMin...uMax { evaluate(u, v) } }
                        }
                        if !clearlyBetter(best.sad, than: zero, pixels: bw * bh) {
                            best = Candidate(u: 0, v: 0, sad: zero)
                        }
                        out.best.append(best)
                        out.zeroSAD.append(zero)
                    }
                }
            }
        }
        return out
    }

    func finishField(previous: Plane, current: Plane, level: LevelResult) -> MotionField {
        let w = current.width, h = current.height, b = blockSize, r = searchRadius
        var field = MotionField(width: w, height: h, blockSize: b)
        previous.pixels.withUnsafeBufferPointer { pp in
            current.pixels.withUnsafeBufferPointer { cp in
                for by in 0..<field.rows {
                    for bx in 0..<field.columns {
                        let i = by * field.columns + bx
                        let x0 = bx * b, y0 = by * b, bw = min(b, w - x0), bh = min(b, h - y0)
                        let curBase = cp.baseAddress! + (y0 * w + x0)
                        let prevBase = pp.baseAddress! + (y0 * w + x0)
                        let m = finish(best: level.best[i], zeroSAD: level.zeroSAD[i], pixels: bw * bh) { u, v in
                            guard abs(u) <= r && abs(v) <= r && x0 + u >= 0 && x0 + u + bw <= w
                                && y0 + v >= 0 && y0 + v + bh <= h else { return nil }
                            return Self.sad(curBase, prevBase + (v * w + u), stride: w, width: bw, height: bh,
                                            limit: Int.max)
                        }
                        field.dx[i] = m.dx
                        field.dy[i] = m.dy
                        field.cost[i] = m.cost
                    }
                }
            }
        }
        return field
    }

    // MARK: Exhaustive reference

    /// Exhaustive search over every displacement in the radius, with plain indexing. Same decisions as
    /// `estimate`; much slower.
    public func estimateFullSearch(previous: GrayImage, current: GrayImage) -> MotionField {
        Self.checkSizes(previous, current)
        let w = current.width, h = current.height, b = blockSize, r = searchRadius
        var field = MotionField(width: w, height: h, blockSize: b)
        for by in 0..<field.rows {
            for bx in 0..<field.columns {
                let x0 = bx * b, y0 = by * b, bw = min(b, w - x0), bh = min(b, h - y0)
                func sad(_ u: Int, _ v: Int) -> Int? {
                    guard abs(u) <= r && abs(v) <= r && x0 + u >= 0 && x0 + u + bw <= w
                        && y0 + v >= 0 && y0 + v + bh <= h else { return nil }
                    var s = 0
                    for y in y0..<(y0 + bh) {
                        for x in x0..<(x0 + bw) { s += abs(Int(current[x, y]) - Int(previous[x + u, y + v])) }
                    }
                    return s
                }
                let zero = sad(0, 0)!
                var best = Candidate(u: 0, v: 0, sad: zero)
                for v in -r...r {
                    for u in -r...r {
                        if let s = sad(u, v), Self.isBetter(s, u, v, than: best) { best = Candidate(u: u, v: v, sad: s) }
                    }
                }
                let m = finish(best: best, zeroSAD: zero, pixels: bw * bh, sad: sad)
                let i = by * field.columns + bx
                field.dx[i] = m.dx
                field.dy[i] = m.dy
                field.cost[i] = m.cost
            }
        }
        return field
    }

    // MARK: Shared decisions

    struct Candidate: Equatable {
        var u: Int
        var v: Int
        var sad: Int
    }

    /// Lower SAD wins; ties go to the shorter vector, then a fixed order, so the choice does not depend
    /// on the order candidates were tried in.
    @inline(__always) static func isBetter(_ s: Int, _ u: Int, _ v: Int, than b: Candidate) -> Bool {
        if s != b.sad { return s < b.sad }
        let la = abs(u) + abs(v), lb = abs(b.u) + abs(b.v)
        if la != lb { return la < lb }
        if v != b.v { return v < b.v }
        return u < b.u
    }

    @inline(__always) func clearlyBetter(_ s: Int, than zero: Int, pixels n: Int) -> Bool {
        Float(zero - s) > zeroBias * Float(n)
    }

    /// Zero-motion preference and sub-pixel refinement of the best integer candidate. `sad` gives the
    /// exact SAD of a displacement, nil where it is outside the search range or the frame.
    func finish(best: Candidate, zeroSAD: Int, pixels n: Int,
                sad: (Int, Int) -> Int?) -> (dx: Float, dy: Float, cost: Float) {
        var c = best
        if !clearlyBetter(best.sad, than: zeroSAD, pixels: n) { c = Candidate(u: 0, v: 0, sad: zeroSAD) }
        var fx = Float(c.u), fy = Float(c.v)
        // An (almost) exact integer match has no sub-pixel part worth fitting.
        if 2 * c.sad >= n {
            var grid = [Int?](repeating: nil, count: 9)
            for j in -1...1 { for i in -1...1 { grid[(j + 1) * 3 + i + 1] = (i == 0 && j == 0) ? c.sad : sad(c.u + i, c.v + j) } }
            if grid.allSatisfy({ $0 != nil }), let o = Self.paraboloidOffset(grid.map { $0! }) {
                fx += o.0
                fy += o.1
            } else {
                if let l = grid[3], let rr = grid[5] { fx += Self.parabolaOffset(l, c.sad, rr) }
                if let t = grid[1], let bb = grid[7] { fy += Self.parabolaOffset(t, c.sad, bb) }
            }
        }
        if c.u == 0 && c.v == 0 {
            if abs(fx) < zeroDeadZone { fx = 0 }
            if abs(fy) < zeroDeadZone { fy = 0 }
        }
        return (fx, fy, Float(c.sad) / Float(n))
    }

    /// Vertex of the least-squares quadratic surface through a 3x3 grid of SADs (row-major, centre at
    /// index 4), limited to half a pixel per axis; nil when the surface has no minimum.
    static func paraboloidOffset(_ s: [Int]) -> (Float, Float)? {
        let v = s.map { Float($0) }
        func at(_ i: Int, _ j: Int) -> Float { v[(j + 1) * 3 + i + 1] }
        var b: Float = 0, c: Float = 0, d: Float = 0, e: Float = 0
        for k in -1...1 {
            b += at(1, k) - at(-1, k)
            c += at(k, 1) - at(k, -1)
            d += (at(1, k) + at(-1, k)) / 6 - at(0, k) / 3
            e += (at(k, 1) + at(k, -1)) / 6 - at(k, 0) / 3
        }
        b /= 6
        c /= 6
        let f = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / 4
        let det = 4 * d * e - f * f
        guard d > 0 && e > 0 && det > 0 else { return nil }
        let x = (f * c - 2 * e * b) / det, y = (f * b - 2 * d * c) / det
        return (max(-0.5, min(0.5, x)), max(-0.5, min(0.5, y)))
    }

    /// Vertex of the parabola through (-1, l), (0, c), (1, r), limited to half a pixel.
    static func parabolaOffset(_ l: Int, _ c: Int, _ r: Int) -> Float {
        let curvature = l - 2 * c + r
        guard curvature > 0 else { return 0 }
        return max(-0.5, min(0.5, Float(l - r) / Float(2 * curvature)))
    }

    static func checkSizes(_ a: GrayImage, _ b: GrayImage) {
        precondition(a.width == b.width && a.height == b.height,
                     "BlockMatcher: frame sizes differ (\(a.width)x\(a.height) vs \(b.width)x\(b.height))")
    }

    /// SAD of a `width` x `height` block at `a` against one at `b` (rows `stride` apart). Stops early,
    /// returning a partial sum, once the sum exceeds `limit`.
    @inline(__always)
    static func sad(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, stride: Int, width bw: Int, height bh: Int,
                    limit: Int) -> Int {
        var total = 0
        let vectorWidth = bw & ~7
        var ra = a, rb = b
        for _ in 0..<bh {
            var acc = SIMD8<UInt16>()
            var i = 0
            while i < vectorWidth {
                let x = UnsafeRawPointer(ra + i).loadUnaligned(as: SIMD8<UInt8>.self)
                let y = UnsafeRawPointer(rb + i).loadUnaligned(as: SIMD8<UInt8>.self)
                acc &+= SIMD8<UInt16>(truncatingIfNeeded: pointwiseMax(x, y) &- pointwiseMin(x, y))
                i += 8
            }
            var s = Int(SIMD8<UInt32>(truncatingIfNeeded: acc).wrappedSum())
            while i < bw { s += abs(Int(ra[i]) - Int(rb[i])); i += 1 }
            total += s
            if total > limit { return total }
            ra += stride
            rb += stride
        }
        return total
    }
}

/// A gray picture level of the search pyramid.
struct Plane {
    var width: Int
    var height: Int
    var pixels: [UInt8]

    init(_ g: GrayImage) { width = g.width; height = g.height; pixels = g.pixels }
    init(width: Int, height: Int, pixels: [UInt8]) { self.width = width; self.height = height; self.pixels = pixels }

    /// Half size (rounded up), each pixel the rounded mean of a 2x2 square (edge pixels repeated).
    func halved() -> Plane {
        let nw = (width + 1) / 2, nh = (height + 1) / 2
        var out = [UInt8](repeating: 0, count: nw * nh)
        for y in 0..<nh {
            let y0 = 2 * y, y1 = min(height - 1, 2 * y + 1)
            for x in 0..<nw {
                let x0 = 2 * x, x1 = min(width - 1, 2 * x + 1)
                let s = Int(pixels[y0 * width + x0]) + Int(pixels[y0 * width + x1])
                    + Int(pixels[y1 * width + x0]) + Int(pixels[y1 * width + x1])
                out[y * nw + x] = UInt8((s + 2) / 4)
            }
        }
        return Plane(width: nw, height: nh, pixels: out)
    }
}
