// Ports rapidocr-onnxruntime 1.4.4 `ch_ppocr_det/utils.py` DBPostProcess (boxes_from_bitmap, get_mini_boxes,
// box_score_fast, unclip) and `ch_ppocr_det/text_detect.py` filter_tag_det_res, without OpenCV or Clipper.
import Foundation

/// Differentiable-binarization post-processing: probability map → quadrilaterals in frame coordinates.
struct DBPostProcess: Sendable {
    var threshold: Float = 0.3
    var boxThreshold: Float = 0.5
    var maxCandidates = 1000
    var unclipRatio: Double = 1.6
    var minSize: Double = 3
    var useDilation = true

    /// `prob` is the [H, W] map at network resolution; boxes are scaled to `destWidth`×`destHeight`.
    func boxes(prob: [Float], width: Int, height: Int, destWidth: Int, destHeight: Int) -> [(box: [Point], score: Float)] {
        var bitmap = prob.map { $0 > threshold ? UInt8(1) : 0 }
        if useDilation { bitmap = DBPostProcess.dilate2x2(bitmap, width: width, height: height) }
        var result: [(box: [Point], score: Float)] = []
        for contour in BinaryContours.borders(bitmap, width: width, height: height).prefix(maxCandidates) {
            let (points, side) = DBPostProcess.miniBox(contour)
            if side < minSize { continue }
            let score = DBPostProcess.boxScoreFast(prob, width: width, height: height, box: points)
            if boxThreshold > score { continue }
            let (area, perimeter) = PolygonGeometry.areaAndPerimeter(points)
            let expanded = PolygonGeometry.offsetRound(points, delta: abs(area) * unclipRatio / perimeter)
            let (box, side2) = DBPostProcess.miniBox(expanded)
            if side2 < minSize + 2 { continue }
            // numpy works on float32 here, and np.round rounds halves to even.
            let scaled = box.map { p -> Point in
                let x = (Float(p.x) / Float(width) * Float(destWidth)).rounded(.toNearestOrEven)
                let y = (Float(p.y) / Float(height) * Float(destHeight)).rounded(.toNearestOrEven)
                return Point(x: Double(min(max(x, 0), Float(destWidth))), y: Double(min(max(y, 0), Float(destHeight))))
            }
            result.append((scaled, score))
        }
        return result
    }

    /// cv2.dilate with a 2x2 kernel of ones (anchor at its centre): a pixel is set when it or its left,
    /// upper or upper-left neighbour is.
    static func dilate2x2(_ b: [UInt8], width: Int, height: Int) -> [UInt8] {
        var out = b
        for y in 0..<height {
            for x in 0..<width where out[y * width + x] == 0 {
                let left = x > 0 && b[y * width + x - 1] != 0
                let up = y > 0 && b[(y - 1) * width + x] != 0
                let upLeft = x > 0 && y > 0 && b[(y - 1) * width + x - 1] != 0
                if left || up || upLeft { out[y * width + x] = 1 }
            }
        }
        return out
    }

    /// get_mini_boxes: the minimum-area rectangle as (top-left, top-right, bottom-right, bottom-left)
    /// and its shorter side.
    static func miniBox(_ points: [Point]) -> (box: [Point], side: Double) {
        let rect = PolygonGeometry.minAreaRect(points)
        let p = rect.corners.enumerated().sorted { $0.element.x != $1.element.x ? $0.element.x < $1.element.x : $0.offset < $1.offset }
            .map(\.element)
        let (i1, i4) = p[1].y > p[0].y ? (0, 1) : (1, 0)
        let (i2, i3) = p[3].y > p[2].y ? (2, 3) : (3, 2)
        return ([p[i1], p[i2], p[i3], p[i4]], min(rect.width, rect.height))
    }

    /// box_score_fast: mean probability over the box polygon (corners truncated to integers) inside its
    /// clipped bounding rectangle.
    static func boxScoreFast(_ prob: [Float], width: Int, height: Int, box: [Point]) -> Float {
        let xs = box.map(\.x), ys = box.map(\.y)
        let xmin = min(max(Int(Float(xs.min()!).rounded(.down)), 0), width - 1)
        let xmax = min(max(Int(Float(xs.max()!).rounded(.up)), 0), width - 1)
        let ymin = min(max(Int(Float(ys.min()!).rounded(.down)), 0), height - 1)
        let ymax = min(max(Int(Float(ys.max()!).rounded(.up)), 0), height - 1)
        let w = xmax - xmin + 1, h = ymax - ymin + 1
        var mask = [UInt8](repeating: 0, count: w * h)
        let local = box.map { Point(x: (Float($0.x) - Float(xmin)).rounded(.towardZero).asDouble,
                                    y: (Float($0.y) - Float(ymin)).rounded(.towardZero).asDouble) }
        PolygonGeometry.fill(local, into: &mask, width: w, height: h)
        var sum = 0.0, count = 0
        for y in 0..<h {
            for x in 0..<w where mask[y * w + x] != 0 {
                sum += Double(prob[(y + ymin) * width + x + xmin])
                count += 1
            }
        }
        return count == 0 ? 0 : Float(sum / Double(count))
    }

    /// filter_tag_det_res: corners ordered clockwise from the top-left, clipped to the frame as integers,
    /// and boxes with a side of 3 pixels or less dropped.
    static func filter(_ boxes: [(box: [Point], score: Float)], width: Int, height: Int) -> [(box: [Point], score: Float)] {
        boxes.compactMap { entry in
            let byX = entry.box.enumerated().sorted { $0.element.x != $1.element.x ? $0.element.x < $1.element.x : $0.offset < $1.offset }
                .map(\.element)
            func byY(_ a: Point, _ b: Point) -> (Point, Point) { b.y < a.y ? (b, a) : (a, b) }
            let (tl, bl) = byY(byX[0], byX[1]), (tr, br) = byY(byX[2], byX[3])
            let clipped = [tl, tr, br, bl].map {
                Point(x: Double(Int(min(max($0.x, 0), Double(width - 1)))), y: Double(Int(min(max($0.y, 0), Double(height - 1)))))
            }
            func norm(_ a: Point, _ b: Point) -> Int { Int(((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot()) }
            if norm(clipped[0], clipped[1]) <= 3 || norm(clipped[0], clipped[3]) <= 3 { return nil }
            return (clipped, entry.score)
        }
    }
}

private extension Float {
    var asDouble: Double { Double(self) }
}
