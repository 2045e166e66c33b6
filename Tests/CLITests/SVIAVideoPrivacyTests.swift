import Foundation
import MediaIO
import Testing

/// The privacy invariant on video: inside a region, the output never depends on the original pixels there, also
/// when the region is found only after the keyframe (a segmenter that misses someone and finds them later).
/// Two clips differ only in what a person looks like; the label maps mark the person from frame `found` on; road
/// and building cover the rest, as on dashcam footage. From that frame on the two outputs must agree inside the
/// person's region within codec noise, for every preset, on a static street and with the person walking in.
@Suite(.serialized) struct SVIAVideoPrivacyTests {
    static let width = 64, height = 32, frames = 8, found = 3

    /// The person's rectangle in frame `i`: fixed, or entering from the left edge 3 pixels a frame.
    static func person(_ i: Int, walking: Bool) -> (x: Range<Int>, y: Range<Int>) {
        guard walking else { return (24..<36, 8..<26) }
        let right = 6 + 3 * i
        return (max(0, right - 12)..<right, 8..<26)
    }

    /// Frame `i` of the clip: the street texture, with the person drawn in `look` (0 or 1). On a static street the
    /// two looks differ in every way. When the person walks, the two looks differ only in colour, with the same
    /// luma: svia measures motion on the original's luma (where painted content moves is the one thing a region
    /// takes from the original), so equal luma gives both clips the same motion and the comparison isolates
    /// what the painted content itself keeps of the person.
    static func frame(_ i: Int, look: Int, walking: Bool) -> RGBImage {
        var img = texture(width: width, height: height)
        let p = person(i, walking: walking)
        for y in p.y {
            for x in p.x {
                if walking {
                    // 0.299 * 40 - 0.587 * 20 - 0.114 * 2 = -0.008: the same luma within rounding.
                    let base = 100 + (x % 3) * 25 + (y % 4) * 15, sign = look == 0 ? 1 : -1
                    img[x, y] = (UInt8(base + sign * 40), UInt8(base - sign * 20), UInt8(base - sign * 2))
                } else {
                    img[x, y] = look == 0
                        ? (UInt8(200 + (x % 3) * 20), UInt8(40 + (y % 4) * 30), UInt8(30))
                        : (UInt8(20), UInt8(180 - (x % 5) * 30), UInt8(220 - (y % 2) * 90))
                }
            }
        }
        return img
    }

    /// trainIds: building (2) above, road (0) below; the person is vegetation (8, not a privacy class) until
    /// frame `found`, person (11) from then on.
    static func labels(_ i: Int, walking: Bool) -> GrayImage {
        var g = GrayImage(width: width, height: height, fill: 0)
        for y in 0..<14 { for x in 0..<width { g[x, y] = 2 } }
        let p = person(i, walking: walking)
        for y in p.y { for x in p.x { g[x, y] = i >= found ? 11 : 8 } }
        return g
    }

    static func makeClip(_ s: Scratch, name: String, look: Int, walking: Bool) throws {
        let dir = try s.mkdir(name + "-frames")
        for i in 0..<frames { try StillImage.write(frame(i, look: look, walking: walking), to: dir + String(format: "/%03d.png", i)) }
        try tool("ffmpeg", ["-v", "error", "-y", "-framerate", "10", "-i", dir + "/%03d.png", "-c:v", "libx264",
                            "-qp", "0", "-pix_fmt", "yuv444p", s.file(name + ".mp4")])
    }

    /// Mean absolute difference of the two outputs inside the person's region, per frame from `found` on.
    static func leak(preset: String, walking: Bool) throws -> [Double] {
        let t = try SVIACLITests.Setup()
        let s = t.scratch
        _ = try s.mkdir("masks/a")
        for i in 0..<frames {
            try StillImage.writeGray(labels(i, walking: walking), to: s.file(String(format: "masks/a/%06d.png", i)))
        }
        try FileManager.default.createSymbolicLink(atPath: s.file("masks/b"), withDestinationPath: s.file("masks/a"))
        var outputs: [[RGBImage]] = []
        for (look, name) in ["a", "b"].enumerated() {
            try makeClip(s, name: name, look: look, walking: walking)
            let r = try t.run([s.file(name + ".mp4"), "--masks", s.file("masks"), "-o", s.file(name + "-out.mp4"),
                               "--preset", preset, "--work-size", "64x32", "--steps", "2", "--harmonizer-steps", "4",
                               "--strength", "0.5", "--detect", "none", "--quiet", "--crf", "0"],
                              binary: ReleaseCLI.forHeavyRuns)
            #expect(r.status == 0, "\(r.stderr)")
            outputs.append(try SVIACLITests.frames(s.file(name + "-out.mp4")))
        }
        #expect(outputs[0].count == frames && outputs[1].count == frames)
        return (found..<frames).map { SVIACLITests.meanDifference(outputs[0][$0], outputs[1][$0], in: person($0, walking: walking)) }
    }

    @Test(arguments: ["default", "paper", "fast"])
    func lateFoundPersonOnAStaticStreetKeepsNothingOfTheOriginal(preset: String) throws {
        let d = try Self.leak(preset: preset, walking: false)
        #expect(d.max()! < 1.5, "\(preset): outputs differ inside the region by \(d)")
    }

    /// `paper` paints every frame as a still (nothing is carried), which the static case already checks.
    @Test(arguments: ["default", "fast"])
    func personWalkingInKeepsNothingOfTheOriginal(preset: String) throws {
        let d = try Self.leak(preset: preset, walking: true)
        #expect(d.max()! < 1.5, "\(preset): outputs differ inside the region by \(d)")
    }
}
