import Foundation
import MediaIO
import Testing

/// Temporal consistency on moving content: a street picture wider than the frame, panned 2 pixels a frame, with
/// its label maps moved identically, so the true motion is known. The warping error inside the regions, between
/// consecutive output frames along that motion, must be small when painted content moves with the scene, and
/// large when every frame is painted afresh (the random-weight tiny models paint noise-like texture, so a
/// method that repaints cannot look consistent by accident).
@Suite(.serialized) struct SVIAVideoTemporalTests {
    static let width = 64, height = 32, frames = 8, pan = 2

    static let street = texture(width: width + pan * frames, height: height)

    /// Frame `t` shows the street from column `pan * t`: content at x in frame t was at x + pan in frame t - 1.
    static func frame(_ t: Int) -> RGBImage {
        var img = RGBImage(width: width, height: height)
        for y in 0..<height { for x in 0..<width { img[x, y] = street[x + pan * t, y] } }
        return img
    }

    /// A car fixed on the street (so moving in the frame), building above it; the rest unlabelled (sky).
    static func streetLabel(_ x: Int, _ y: Int) -> UInt8 {
        if (30..<62).contains(x) && (12..<28).contains(y) { return 13 }
        return y < 8 ? 2 : 10
    }

    static func labels(_ t: Int) -> GrayImage {
        var g = GrayImage(width: width, height: height, fill: 10)
        for y in 0..<height { for x in 0..<width { g[x, y] = streetLabel(x + pan * t, y) } }
        return g
    }

    /// Mean absolute difference (0–255) between out[t] and out[t-1] moved by the known motion, over pixels
    /// inside the regions of both frames (two pixels in from every region edge, where the regions' own
    /// borders blend).
    static func warpError(_ out: [RGBImage]) -> Double {
        var sum = 0, count = 0
        for t in 1..<out.count {
            for y in 0..<height {
                for x in 0..<(width - pan) {
                    let sx = x + pan * t
                    var inside = true
                    for dy in -2...2 { for dx in -2...(2 + pan) where inside {
                        let yy = min(height - 1, max(0, y + dy)), xx = min(street.width - 1, max(0, sx + dx))
                        if streetLabel(xx, yy) == 10 { inside = false }
                    } }
                    guard inside else { continue }
                    let p = out[t][x, y], q = out[t - 1][x + pan, y]
                    sum += abs(Int(p.0) - Int(q.0)) + abs(Int(p.1) - Int(q.1)) + abs(Int(p.2) - Int(q.2))
                    count += 3
                }
            }
        }
        return Double(sum) / Double(max(1, count))
    }

    @Test func paintedContentMovesWithTheScene() throws {
        let t = try SVIACLITests.Setup()
        let s = t.scratch
        let dir = try s.mkdir("frames")
        _ = try s.mkdir("masks/in")
        for i in 0..<Self.frames {
            try StillImage.write(Self.frame(i), to: dir + String(format: "/%03d.png", i))
            try StillImage.writeGray(Self.labels(i), to: s.file(String(format: "masks/in/%06d.png", i)))
        }
        try tool("ffmpeg", ["-v", "error", "-y", "-framerate", "10", "-i", dir + "/%03d.png", "-c:v", "libx264",
                            "-qp", "0", "-pix_fmt", "yuv444p", s.file("in.mp4")])
        func paint(_ extra: [String], _ name: String) throws -> (frames: [RGBImage], svia: [String: Any]) {
            let r = try t.run([s.file("in.mp4"), "--masks", s.file("masks"), "-o", s.file(name), "--crf", "0",
                               "--report", s.file(name + ".json")] + SVIACLITests.tiny + extra,
                              binary: ReleaseCLI.forHeavyRuns)
            #expect(r.status == 0, "\(r.stderr)")
            let files = try SVIACLITests.report(s.file(name + ".json"))["files"] as! [[String: Any]]
            return (try SVIACLITests.frames(s.file(name)), files[0]["svia"] as! [String: Any])
        }
        let moved = try paint([], "moved.mp4"), fresh = try paint(["--no-reuse"], "fresh.mp4")
        #expect(moved.frames.count == Self.frames && fresh.frames.count == Self.frames)
        let eMoved = Self.warpError(moved.frames), eFresh = Self.warpError(fresh.frames)
        #expect(eMoved * 3 <= eFresh, "warp error: moved \(eMoved), painted afresh \(eFresh)")
        // Only the first frame is a keyframe; later frames paint only what enters at the right edge.
        #expect(moved.svia["keyframes"] as? Int == 1, "\(moved.svia)")
        #expect(moved.svia["freshPaintedFrames"] as? Int ?? 0 >= 1, "\(moved.svia)")
        #expect((fresh.svia["keyframes"] as? Int) == Self.frames)
        let evalsMoved = moved.svia["unetEvaluations"] as? Int ?? 0, evalsFresh = fresh.svia["unetEvaluations"] as? Int ?? 0
        #expect(evalsMoved < evalsFresh, "UNet evaluations: moved \(evalsMoved), afresh \(evalsFresh)")
        // Counted in whole pictures, the work between keyframes is the windows around what entered.
        let workMoved = moved.svia["unetPictureEvaluations"] as? Double ?? .infinity
        let workFresh = fresh.svia["unetPictureEvaluations"] as? Double ?? 0
        #expect(workFresh == Double(evalsFresh))
        #expect(workMoved * 3 <= workFresh, "UNet work in pictures: moved \(workMoved), afresh \(workFresh)")
    }
}
