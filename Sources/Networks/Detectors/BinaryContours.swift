/// The borders of the regions of a binary map, as `cv2.findContours(..., RETR_LIST, ...)` lists them for
/// what DBNet post-processing uses them for (their convex hulls): one point set per outer border
/// (8-connected foreground region) and per hole (4-connected background region enclosed by foreground).
///
/// Each set holds the border pixels: foreground pixels with a 4-neighbour outside the region (or on the
/// image edge) for outer borders, foreground pixels 4-adjacent to the hole for holes. Their convex hull is
/// the hull of the traced contour OpenCV returns. Sets come in raster order of their first pixel.
enum BinaryContours {
    static func borders(_ bitmap: [UInt8], width: Int, height: Int) -> [[Point]] {
        let n = width * height
        var label = [Int32](repeating: 0, count: n)  // >0 foreground region, <0 background region
        var starts: [(first: Int, isHole: Bool, id: Int32)] = []
        var stack: [Int] = []
        var foregroundCount: Int32 = 0, backgroundCount: Int32 = 0
        var touchesEdge: [Bool] = [false]  // by background id
        for start in 0..<n where label[start] == 0 {
            let fg = bitmap[start] != 0
            let id: Int32
            if fg { foregroundCount += 1; id = foregroundCount } else { backgroundCount += 1; id = -backgroundCount }
            if !fg { touchesEdge.append(false) }
            label[start] = id
            stack.append(start)
            while let p = stack.popLast() {
                let x = p % width, y = p / width
                if !fg && (x == 0 || y == 0 || x == width - 1 || y == height - 1) { touchesEdge[Int(-id)] = true }
                for dy in -1...1 {
                    let yy = y + dy
                    if yy < 0 || yy >= height { continue }
                    for dx in -1...1 where dx != 0 || dy != 0 {
                        // Foreground joins 8-neighbours, background 4-neighbours (Suzuki–Abe's pairing).
                        if !fg && dx != 0 && dy != 0 { continue }
                        let xx = x + dx
                        if xx < 0 || xx >= width { continue }
                        let q = yy * width + xx
                        if label[q] == 0 && (bitmap[q] != 0) == fg {
                            label[q] = id
                            stack.append(q)
                        }
                    }
                }
            }
            if fg || !touchesEdge[Int(-id)] { starts.append((start, !fg, id)) }
        }
        // A background region's edge status is only final once it is fully flooded, which it is here.
        var outer = [[Point]](repeating: [], count: Int(foregroundCount) + 1)
        var holes = [[Point]](repeating: [], count: Int(backgroundCount) + 1)
        for p in 0..<n where label[p] > 0 {
            let x = p % width, y = p / width
            var border = x == 0 || y == 0 || x == width - 1 || y == height - 1
            for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                let xx = x + dx, yy = y + dy
                if xx < 0 || yy < 0 || xx >= width || yy >= height { continue }
                let l = label[yy * width + xx]
                if l < 0 {
                    border = true
                    if !touchesEdge[Int(-l)] {
                        let h = Int(-l)
                        if holes[h].last != Point(x: Double(x), y: Double(y)) {
                            holes[h].append(Point(x: Double(x), y: Double(y)))
                        }
                    }
                }
            }
            if border { outer[Int(label[p])].append(Point(x: Double(x), y: Double(y))) }
        }
        return starts.map { s in s.isHole ? holes[Int(-s.id)] : outer[Int(s.id)] }.filter { !$0.isEmpty }
    }
}
