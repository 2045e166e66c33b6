import Foundation
import Testing
@testable import MediaIO

@Suite struct TranscodeTimingTests {
    static func assertSameTiming(_ input: String, _ output: String, tolerance: Double) throws {
        let a = try frameTimes(input), b = try frameTimes(output)
        #expect(a.count == b.count, "frame count \(a.count) vs \(b.count)")
        for (x, y) in zip(a, b) where abs(x - y) > tolerance {
            Issue.record("pts \(x) vs \(y)")
            break
        }
        #expect(abs(try formatDuration(input) - formatDuration(output)) <= max(tolerance, 0.002))
    }

    @Test(arguments: ["mp4", "mkv", "mov"])
    func cfrKeepsEveryTimestamp(container: String) throws {
        let dir = try TestDir()
        let input = try dir.clip("in.mp4")
        let output = dir.file("out.\(container)")
        let report = try VideoTranscoder.run(input: input, output: output) { $0.image }
        #expect(report.frames == 30)
        #expect(report.truncated == false)
        try Self.assertSameTiming(input, output, tolerance: container == "mkv" ? 0.0011 : 1e-6)
    }

    @Test(arguments: VideoCodecChoice.allCases)
    func vfrKeepsEveryTimestamp(codec: VideoCodecChoice) throws {
        let dir = try TestDir()
        let input = try dir.clip("vfr.mp4", extra: [
            "-vf", "select='not(eq(mod(n\\,7)\\,3))*not(eq(mod(n\\,11)\\,5))'", "-fps_mode", "passthrough",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        let times = try frameTimes(input)
        #expect(times.count < 30)
        for container in ["mp4", "mkv", "mov"] {
            let output = dir.file("out-\(codec.rawValue).\(container)")
            let report = try VideoTranscoder.run(input: input, output: output, options: EncodeOptions(codec: codec)) { $0.image }
            #expect(report.frames == times.count)
            try Self.assertSameTiming(input, output, tolerance: container == "mkv" ? 0.0011 : 1e-6)
        }
        #expect(!dir.contents.contains { $0.hasPrefix(".") })
    }

    @Test func hevcInQuickTimeIsTaggedHvc1() throws {
        let dir = try TestDir()
        let input = try dir.clip("in.mp4", seconds: 0.4)
        let output = dir.file("out.mp4")
        _ = try VideoTranscoder.run(input: input, output: output, options: EncodeOptions(codec: .hevc)) { $0.image }
        #expect(try probeRows(output, "v:0", "stream=codec_tag_string") == ["hvc1"])
    }
}
