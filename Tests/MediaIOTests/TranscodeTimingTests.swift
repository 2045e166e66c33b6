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

    /// MPEG-TS counts in 90 kHz and starts late; mpeg4 cannot count that finely.
    @Test(arguments: VideoCodecChoice.allCases)
    func transportStreamInput(codec: VideoCodecChoice) throws {
        let dir = try TestDir()
        let input = try dir.clip("in.ts", source: "testsrc2=size=160x120:rate=30000/1001", seconds: 0.5)
        let output = dir.file("out.mp4")
        let report = try VideoTranscoder.run(input: input, output: output, options: EncodeOptions(codec: codec)) { $0.image }
        #expect(report.frames == 15)
        let a = try frameTimes(input), b = try frameTimes(output)
        #expect(a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 }, "\(a) vs \(b)")
    }

    @Test func mpeg4TimeBaseStaysExactForCommonRates() {
        #expect(VideoWriter.mpeg4TimeBase(Rational(num: 1, den: 15360), frameRate: 30) == Rational(num: 1, den: 15360))
        #expect(VideoWriter.mpeg4TimeBase(Rational(num: 1, den: 90000), frameRate: 25) == Rational(num: 1, den: 45000))
        #expect(VideoWriter.mpeg4TimeBase(Rational(num: 1, den: 90000), frameRate: 30000.0 / 1001) == Rational(num: 1, den: 30000))
    }

    /// A prime denominator has no divisor that fits MPEG-4's 16-bit clock; the search must end at once
    /// and fall back to a clock that still tells frames apart.
    @Test func mpeg4TimeBaseForPrimeDenominators() {
        let big = VideoWriter.mpeg4TimeBase(Rational(num: 1, den: 2_147_483_647), frameRate: 25)
        #expect(big.den <= 65535 && big.den >= 1000)
        let small = VideoWriter.mpeg4TimeBase(Rational(num: 1, den: 65537), frameRate: 25)
        #expect(small == Rational(num: 1, den: 25000))
        #expect(VideoWriter.mpeg4TimeBase(Rational(num: 1, den: 131_074), frameRate: 0).den >= 1000)
    }

    @Test func mpeg4FromPrimeTimescaleKeepsTiming() throws {
        let dir = try TestDir()
        let input = try dir.clip("prime.mp4", seconds: 0.4, extra: [
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-video_track_timescale", "65537"])
        #expect(try probeRows(input, "v:0", "stream=time_base") == ["1/65537"])
        let output = dir.file("out.mp4")
        let report = try VideoTranscoder.run(input: input, output: output, options: EncodeOptions(codec: .mpeg4)) { $0.image }
        #expect(report.frames == 10)
        try Self.assertSameTiming(input, output, tolerance: 1e-4)
    }

    @Test func saturatingTimestampArithmetic() {
        #expect(Int64.max.clampedAdding(1) == .max)
        #expect(Int64.min.clampedAdding(-5) == .min)
        #expect(Int64(40).clampedAdding(2) == 42)
        #expect(Int64.clamped(.nan) == 0)
        #expect(Int64.clamped(1e300) == .max && Int64.clamped(-.infinity) == .min)
        #expect(Int.clamped(12.0) == 12)
    }
}
