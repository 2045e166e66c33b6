import Foundation
import Testing
@testable import MediaIO

@Suite struct PixelTests {
    /// Average YUV PSNR of `b` against `a`, from ffmpeg's psnr filter.
    static func yuvPSNR(_ a: String, _ b: String) throws -> Double {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-hide_banner", "-i", b, "-i", a, "-lavfi", "psnr", "-f", "null", "-"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard let r = text.range(of: "average:") else { return 0 }
        return Double(text[r.upperBound...].prefix { $0 == "." || $0.isNumber }) ?? 0
    }

    @Test(arguments: VideoCodecChoice.allCases)
    func identityTranscodeIsWithinCodecNoise(codec: VideoCodecChoice) throws {
        let dir = try TestDir()
        let input = try dir.clip("in.mp4", source: "testsrc2=size=320x240:rate=25", seconds: 0.6,
                                 extra: ["-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p"])
        let output = dir.file("out.mp4")
        _ = try VideoTranscoder.run(input: input, output: output, options: EncodeOptions(codec: codec)) { $0.image }
        let a = try readAll(input), b = try readAll(output)
        #expect(a.count == b.count && a.count == 15)
        #expect(zip(a, b).allSatisfy { $0.pts == $1.pts })
        let ours = try Self.yuvPSNR(input, output)
        #expect(ours > 35, "\(codec): \(ours) dB")
        if codec == .h264 {
            // The same work done by the ffmpeg tool (RGB round trip, same encoder settings) as the yardstick.
            let ref = try dir.ffmpeg(["-i", input, "-vf", "format=rgb24,format=yuv420p", "-c:v", "libx264", "-crf", "18",
                                      "-preset", "veryfast", dir.file("ref.mp4")])
            let refPSNR = try Self.yuvPSNR(input, ref)
            #expect(ours > refPSNR - 0.5, "ours \(ours) dB, ffmpeg \(refPSNR) dB")
        }
    }

    /// Pure colour patches in a BT.709 HD clip decode to their colours, and survive a transcode.
    @Test(arguments: [(1280, 720, "bt709", "tv"), (320, 240, "smpte170m", "tv"), (320, 240, "bt709", "pc")])
    func colourPatchesStayTrue(size: (Int, Int, String, String)) throws {
        let (w, h, matrix, range) = size
        let dir = try TestDir()
        let colours: [(UInt8, UInt8, UInt8)] = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 200, 255), (128, 128, 128)]
        var img = RGBImage(width: w, height: h)
        for y in 0..<h { for x in 0..<w { img[x, y] = colours[(x * 3 / w) + 3 * (y * 2 / h)] } }
        let png = dir.file("patches.png")
        try StillImage.write(img, to: png)
        let clip = try dir.ffmpeg([
            "-loop", "1", "-i", png, "-t", "0.2", "-r", "25",
            "-vf", "scale=out_color_matrix=\(matrix):out_range=\(range),format=\(range == "pc" ? "yuvj420p" : "yuv420p")",
            "-colorspace", matrix, "-color_range", range, "-c:v", "libx264", "-crf", "8", "-preset", "ultrafast",
            dir.file("patches.mp4")])
        let out = dir.file("out.mp4")
        _ = try VideoTranscoder.run(input: clip, output: out) { $0.image }
        #expect(try probeRows(out, "v:0", "stream=color_space") == [matrix])
        for path in [clip, out] {
            let frame = try #require(try readAll(path).first)
            for (i, c) in colours.enumerated() {
                let px = frame.image[(i % 3) * w / 3 + w / 6, (i / 3) * h / 2 + h / 4]
                let err = max(abs(Int(px.0) - Int(c.0)), abs(Int(px.1) - Int(c.1)), abs(Int(px.2) - Int(c.2)))
                #expect(err <= 6, "\(path) patch \(i): \(px) vs \(c)")
            }
        }
    }

    /// Input and output must look alike in any player: the colour tags are kept as found (an untagged
    /// stream stays untagged) and the conversion uses the matrix the `ffmpeg` tool decodes them with.
    /// The bound is codec noise: ffmpeg's own RGB round trip at CRF 23 differs by a mean of about 1.2.
    @Test(arguments: [(320, 180, ""), (320, 180, "smpte170m"), (320, 180, "bt709"), (1280, 720, "")])
    func colourDescriptionIsKept(size: (Int, Int, String)) throws {
        let (w, h, matrix) = size
        let dir = try TestDir()
        var tags: [String] = []
        if !matrix.isEmpty {
            tags = ["-colorspace", matrix, "-color_primaries", matrix, "-color_trc", matrix, "-color_range", "tv"]
        }
        let input = try dir.clip("in.mp4", source: "testsrc2=size=\(w)x\(h):rate=25", seconds: 0.12,
                                 extra: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"] + tags)
        let output = dir.file("out.mp4")
        _ = try VideoTranscoder.run(input: input, output: output) { $0.image }
        let entries = "stream=color_space,color_range,color_primaries,color_transfer"
        #expect(try probeRows(output, "v:0", entries) == probeRows(input, "v:0", entries))
        let decode = { (path: String) in
            [UInt8](try runData("ffmpeg", ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]))
        }
        let a = try decode(input), b = try decode(output)
        #expect(a.count == b.count && a.count == w * h * 3 * 3)
        var sum = 0
        for i in 0..<min(a.count, b.count) { sum += abs(Int(a[i]) - Int(b[i])) }
        let mean = Double(sum) / Double(max(1, min(a.count, b.count)))
        #expect(mean < 2.5, "\(w)x\(h) \(matrix.isEmpty ? "untagged" : matrix): mean difference \(mean)")
    }

    @Test func rotatedClipReadsUpright() throws {
        let dir = try TestDir()
        let input = try dir.clip("in.mp4", seconds: 0.3)
        let rotated = try dir.ffmpeg(["-i", input, "-c", "copy", "-metadata:s:v", "rotate=90", dir.file("rot.mp4")])
        let reader = try VideoReader(path: rotated)
        // The tag rotate=90 stores a matrix ffprobe reports as rotation=90 (counter-clockwise): a 270° clockwise turn.
        #expect(reader.info.rotationDegrees == 270)
        #expect(reader.info.width == 120 && reader.info.height == 160)
        let first = try #require(try reader.nextFrame())
        #expect(first.image.width == 120 && first.image.height == 160)
        // ffmpeg applies the display matrix itself (autorotate); the pictures must agree.
        let ref = try runData("ffmpeg", ["-v", "error", "-i", rotated, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        #expect(psnr(first.image, RGBImage(width: 120, height: 160, pixels: [UInt8](ref))) > 35)

        let out = dir.file("upright.mp4")
        _ = try VideoTranscoder.run(input: rotated, output: out) { $0.image }
        #expect(try probeRows(out, "v:0", "stream=width,height") == ["120,160"])
        #expect(try VideoReader(path: out).info.rotationDegrees == 0)
    }

    @Test func readerReportsTimingAndInfo() throws {
        let dir = try TestDir()
        let input = try dir.clip("in.mkv", seconds: 0.4)
        let reader = try VideoReader(path: input)
        #expect(reader.info.formatName.contains("matroska"))
        #expect(abs(reader.info.frameRate - 25) < 0.01)
        #expect(reader.info.hasAudio == false)
        var seconds: [Double] = []
        while let f = try reader.nextFrame() { seconds.append(f.seconds) }
        #expect(seconds.count == 10)
        #expect(abs(seconds[1] - 0.04) < 0.0011)
        #expect(reader.decodedFrames == 10 && !reader.isTruncated && reader.decodeErrors == 0)
    }

    @Test func writerAloneWritesAFile() throws {
        let dir = try TestDir()
        let out = dir.file("w.mp4")
        let writer = try VideoWriter(path: out, width: 64, height: 48, timeBase: Rational(num: 1, den: 30), frameRate: 30)
        for i in 0..<12 { try writer.write(patternImage(width: 64, height: 48, seed: UInt64(i)), pts: Int64(i), duration: 1) }
        #expect(dir.contents.count == 1 && dir.contents[0].hasPrefix("."))
        try writer.finish()
        #expect(dir.contents == ["w.mp4"])
        #expect(try frameTimes(out).count == 12)
    }
}
