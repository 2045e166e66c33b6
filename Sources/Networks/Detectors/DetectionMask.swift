// Face ellipses follow deface 1.5.0 `deface/deface.py` (anonymize_frame, scale_bb, draw_det with
// skimage.draw.ellipse); text polygons are filled as cv2.fillPoly fills integer quadrilaterals.

/// Full-frame 0/1 masks (row-major, `width`×`height` bytes) of detected regions.
public enum DetectionMask {
    /// Filled ellipses inside each face box enlarged by `maskScale` (deface's `--mask-scale`, 1.3),
    /// as deface's `--replacewith blur` covers faces.
    public static func faces(_ detections: [Detection], width: Int, height: Int, maskScale: Double = 1.3) -> [UInt8] {
        var mask = [UInt8](repeating: 0, count: width * height)
        addFaces(detections, to: &mask, width: width, height: height, maskScale: maskScale)
        return mask
    }

    /// Filled text polygons.
    public static func text(_ regions: [TextRegion], width: Int, height: Int) -> [UInt8] {
        var mask = [UInt8](repeating: 0, count: width * height)
        addText(regions, to: &mask, width: width, height: height)
        return mask
    }

    /// Adds face ellipses to an existing mask (for combining detectors).
    public static func addFaces(_ detections: [Detection], to mask: inout [UInt8], width: Int, height: Int,
                                maskScale: Double = 1.3) {
        precondition(mask.count == width * height, "DetectionMask: \(mask.count) bytes for \(width)x\(height)")
        for d in detections {
            // det[:4].astype(int), then scale_bb in float64 with numpy's round-half-to-even.
            var x1 = Double(Int(d.x1)), y1 = Double(Int(d.y1)), x2 = Double(Int(d.x2)), y2 = Double(Int(d.y2))
            let s = maskScale - 1, bh = y2 - y1, bw = x2 - x1
            y1 -= bh * s; y2 += bh * s; x1 -= bw * s; x2 += bw * s
            var ix1 = Int(x1.rounded(.toNearestOrEven)), iy1 = Int(y1.rounded(.toNearestOrEven))
            var ix2 = Int(x2.rounded(.toNearestOrEven)), iy2 = Int(y2.rounded(.toNearestOrEven))
            iy1 = max(0, iy1); iy2 = min(height - 1, iy2)
            ix1 = max(0, ix1); ix2 = min(width - 1, ix2)
            let rr = (iy2 - iy1) / 2, cr = (ix2 - ix1) / 2
            guard rr > 0, cr > 0 else { continue }
            // skimage.draw.ellipse(rr, cr, rr, cr) inside frame[y1:y2, x1:x2]: ((r−rr)/rr)² + ((c−cr)/cr)² < 1.
            for r in 0..<(iy2 - iy1) {
                let dy = Double(r - rr) / Double(rr)
                let row = (iy1 + r) * width + ix1
                for c in 0..<(ix2 - ix1) {
                    let dx = Double(c - cr) / Double(cr)
                    if dy * dy + dx * dx < 1 { mask[row + c] = 1 }
                }
            }
        }
    }

    /// Adds text polygons to an existing mask.
    public static func addText(_ regions: [TextRegion], to mask: inout [UInt8], width: Int, height: Int) {
        precondition(mask.count == width * height, "DetectionMask: \(mask.count) bytes for \(width)x\(height)")
        for region in regions { PolygonGeometry.fill(region.points, into: &mask, width: width, height: height) }
    }
}
