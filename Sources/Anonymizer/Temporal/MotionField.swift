import MediaIO

/// Block motion between two frames of the same size.
///
/// The frame (`width` x `height` pixels) is cut into `blockSize` squares, `columns` x `rows` of them (the
/// last column and row may be partial). For each block, `dx`/`dy` say where its content came from: the
/// content at current position p was at p + (dx, dy) in the previous frame. `cost` is the mean absolute
/// difference (0-255) of the best integer match, a reliability hint: high cost means occlusion, new
/// content or lighting change, where the vector means little.
public struct MotionField: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let blockSize: Int
    public let columns: Int
    public let rows: Int
    /// Row-major per block, `rows * columns` values each.
    public var dx: [Float]
    public var dy: [Float]
    public var cost: [Float]

    /// A zero field (no motion, zero cost).
    public init(width: Int, height: Int, blockSize: Int) {
        precondition(width > 0 && height > 0 && blockSize > 0,
                     "MotionField: bad size \(width)x\(height) block \(blockSize)")
        self.width = width
        self.height = height
        self.blockSize = blockSize
        columns = (width + blockSize - 1) / blockSize
        rows = (height + blockSize - 1) / blockSize
        dx = [Float](repeating: 0, count: columns * rows)
        dy = dx
        cost = dx
    }

    public init(width: Int, height: Int, blockSize: Int, dx: [Float], dy: [Float], cost: [Float]) {
        self.init(width: width, height: height, blockSize: blockSize)
        let n = columns * rows
        precondition(dx.count == n && dy.count == n && cost.count == n,
                     "MotionField: \(dx.count)/\(dy.count)/\(cost.count) values for \(columns)x\(rows) blocks")
        self.dx = dx
        self.dy = dy
        self.cost = cost
    }

    /// The same motion everywhere (a pan), zero cost.
    public static func uniform(width: Int, height: Int, blockSize: Int, dx: Float, dy: Float) -> MotionField {
        var f = MotionField(width: width, height: height, blockSize: blockSize)
        f.dx = [Float](repeating: dx, count: f.dx.count)
        f.dy = [Float](repeating: dy, count: f.dy.count)
        return f
    }

    @inlinable public func motion(column: Int, row: Int) -> (dx: Float, dy: Float) {
        let i = row * columns + column
        return (dx[i], dy[i])
    }

    /// Motion of the block holding pixel (x, y) (clamped into the frame).
    public func motion(atX x: Int, y: Int) -> (dx: Float, dy: Float) {
        let c = min(columns - 1, max(0, x / blockSize)), r = min(rows - 1, max(0, y / blockSize))
        return motion(column: c, row: r)
    }

    /// Whether no block moves by more than `tolerance` pixels on either axis.
    public func isStatic(tolerance: Float = 0) -> Bool {
        for i in 0..<dx.count where abs(dx[i]) > tolerance || abs(dy[i]) > tolerance { return false }
        return true
    }

    /// Share of blocks (0...1) whose best match cost is at most `maxCost`.
    public func reliableFraction(maxCost: Float) -> Float {
        guard !cost.isEmpty else { return 1 }
        return Float(cost.reduce(0) { $0 + ($1 <= maxCost ? 1 : 0) }) / Float(cost.count)
    }

    /// Motion on a coarser or finer grid of `gridColumns` x `gridRows` cells of `pixelsPerCell` field
    /// pixels each (cell (i, j) covers pixels [i*p, (i+1)*p) x [j*p, (j+1)*p)): the area-weighted mean of
    /// the blocks each cell overlaps, in field pixels. Cells past the frame take the nearest edge blocks.
    public func cellMotion(gridColumns: Int, gridRows: Int, pixelsPerCell: Int) -> (dx: [Float], dy: [Float]) {
        precondition(gridColumns > 0 && gridRows > 0 && pixelsPerCell > 0, "MotionField.cellMotion: bad grid")
        let wx = Self.overlaps(cells: gridColumns, cellSize: pixelsPerCell, extent: width, block: blockSize)
        let wy = Self.overlaps(cells: gridRows, cellSize: pixelsPerCell, extent: height, block: blockSize)
        var ox = [Float](repeating: 0, count: gridColumns * gridRows), oy = ox
        for j in 0..<gridRows {
            for i in 0..<gridColumns {
                var ax: Float = 0, ay: Float = 0
                for (r, wr) in wy[j] {
                    for (c, wc) in wx[i] {
                        let w = wr * wc, k = r * columns + c
                        ax += w * dx[k]
                        ay += w * dy[k]
                    }
                }
                ox[j * gridColumns + i] = ax
                oy[j * gridColumns + i] = ay
            }
        }
        return (ox, oy)
    }

    /// Per cell along one axis: the blocks its pixel span overlaps, with weights summing to 1.
    static func overlaps(cells: Int, cellSize: Int, extent: Int, block: Int) -> [[(Int, Float)]] {
        (0..<cells).map { i in
            var a = i * cellSize, b = (i + 1) * cellSize
            if a >= extent { a = extent - 1; b = extent }
            b = min(b, extent)
            var list: [(Int, Float)] = []
            var blockIndex = a / block
            while blockIndex * block < b {
                let lo = max(a, blockIndex * block), hi = min(b, (blockIndex + 1) * block)
                if hi > lo { list.append((blockIndex, Float(hi - lo) / Float(b - a))) }
                blockIndex += 1
            }
            return list
        }
    }
}
