import Foundation
import MediaIO
import Testing

/// The rules of the container on the shipped dashcam-like sample (VFR, AAC, GPS subtitles, a timecode
/// data track, location/creation/device tags).
@Suite(.serialized) struct SampleClipCLITests {
    static let dashcam = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("SampleClips/dashcam_synthetic.mp4").path

    /// Label maps with nothing to replace, so the run exercises only the container rules.
    func emptyMaps(_ s: Scratch, frames: Int) throws -> String {
        let dir = try s.mkdir("maps")
        for i in 0..<frames {
            try StillImage.writeGray(GrayImage(width: 640, height: 360, fill: 255), to: dir + String(format: "/%06d.png", i))
        }
        return dir
    }

    @Test func dashcamSampleKeepsTimingAndLosesTracksTagsAndAudio() throws {
        let s = try Scratch()
        let source = try videoTiming(Self.dashcam)
        #expect(source.pts.count == 24)
        #expect(try codecTypes(Self.dashcam).sorted() == ["audio", "data", "subtitle", "video"])
        let maps = try emptyMaps(s, frames: source.pts.count)
        let r = try CLI.run(["anonymize", "--detect", "none", Self.dashcam, "--masks", maps, "--method", "blur",
                             "-o", s.file("out.mp4"), "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try videoTiming(s.file("out.mp4"))
        #expect(out.pts == source.pts)
        #expect(out.duration == source.duration)
        #expect(try codecTypes(s.file("out.mp4")) == ["video"])
        let tags = try tool("ffprobe", ["-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "flat", s.file("out.mp4")])
        for leak in ["location", "creation_time", "make", "model", "48.8584", "title", "timecode"] {
            #expect(!tags.contains(leak), "\(leak) survived: \(tags)")
        }

        // On request, the audio comes through packet for packet.
        let k = try CLI.run(["anonymize", "--detect", "none", Self.dashcam, "--masks", maps, "--method", "blur",
                             "--audio", "keep", "-o", s.file("audio.mp4"), "-q"])
        #expect(k.status == 0, "\(k.stderr)")
        func audio(_ p: String) throws -> String {
            try tool("ffmpeg", ["-v", "error", "-i", p, "-map", "0:a", "-c", "copy", "-f", "framemd5", "-"])
                .split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        }
        #expect(try audio(s.file("audio.mp4")) == audio(Self.dashcam))
        #expect(try codecTypes(s.file("audio.mp4")) == ["video", "audio"])
    }
}
