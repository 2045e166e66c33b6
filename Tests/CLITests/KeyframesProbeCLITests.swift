import Foundation
import MediaIO
import Testing

@Suite(.serialized) struct KeyframesProbeCLITests {
    @Test func codecKeyframesAreNamedByTimestamp() throws {
        let s = try Scratch()
        // A keyframe every 10 frames at 10 fps: 0 s, 1 s, 2 s.
        try tool("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-t", "3",
                            "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-keyint_min", "10",
                            "-sc_threshold", "0", s.file("clip.mp4")])
        let r = try CLI.run(["keyframes", s.file("clip.mp4"), "-o", s.file("kf"), "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.tree("kf") == ["clip_00-00-00.000.png", "clip_00-00-01.000.png", "clip_00-00-02.000.png"])
        let still = try StillImage.read(path: s.file("kf/clip_00-00-01.000.png"))
        #expect(still.width == 64 && still.height == 48)

        let every = try CLI.run(["keyframes", s.file("clip.mp4"), "-o", s.file("half"), "--every", "0.5", "--format", "jpg", "-q"])
        #expect(every.status == 0, "\(every.stderr)")
        #expect(s.tree("half").count == 6)
        #expect(s.tree("half").first == "clip_00-00-00.000.jpg")
    }

    @Test func probeListsWhatWouldBeRemoved() throws {
        let s = try Scratch()
        try tool("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-t", "1",
                            "-c:v", "libx264", "-preset", "ultrafast", "-metadata", "location=+48.8584+002.2945/",
                            "-metadata", "creation_time=2026-05-14T08:31:07Z", s.file("clip.mp4")])
        let r = try CLI.run(["probe", s.file("clip.mp4")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("location"))
        #expect(r.stdout.contains("+48.8584+002.2945"))
        #expect(r.stdout.contains("creation_time"))
        let j = try CLI.run(["probe", "--json", s.file("clip.mp4")])
        let obj = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        #expect((obj?["privacyItems"] as? [Any])?.isEmpty == false)

        let bad = try CLI.run(["probe", s.file("missing.mp4")])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("missing.mp4"))
    }
}

extension KeyframesProbeCLITests {
    /// File names that look like FFmpeg protocols (`concat:`, `subfile,`) name files, nothing else.
    @Test(arguments: ["concat:a.mp4|b.mp4", "subfile,,start,0,end,0,,:a.mp4"])
    func protocolLookingNamesAreFiles(name: String) throws {
        let s = try Scratch()
        for part in ["a.mp4", "b.mp4"] {
            try tool("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-t", "0.3",
                                "-c:v", "libx264", "-preset", "ultrafast", s.file(part)])
        }
        try tool("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x80:rate=10", "-t", "0.3",
                            "-c:v", "libx264", "-preset", "ultrafast", "-f", "mp4", s.file(name)])
        let r = try CLI.run(["probe", name], in: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("96x80") && !r.stdout.contains("64x48"), "\(r.stdout)")
        try FileManager.default.removeItem(atPath: s.file(name))
        let gone = try CLI.run(["probe", name], in: s.path)
        #expect(gone.status != 0)
        #expect(!gone.stdout.contains("64x48"))
    }
}
