import Foundation
import MediaIO
import Testing

@Suite(.serialized) struct AnonymizeCLITests {
    @Test func stillOutsideMaskIsBitIdenticalInsideIsReplaced() throws {
        let s = try Scratch()
        let img = texture(width: 41, height: 27)
        try StillImage.write(img, to: s.file("in.png"))
        _ = try s.mkdir("masks")
        try StillImage.writeGray(carLabelMap(width: 41, height: 27, car: (5..<20, 3..<15)), to: s.file("masks/in.png"))
        let r = try CLI.run(["anonymize", "--detect", "none", s.file("in.png"), "--masks", s.file("masks"), "--method", "graymask",
                             "-o", s.file("out.png"), "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try StillImage.read(path: s.file("out.png"))
        #expect(out.width == 41 && out.height == 27)
        for y in 0..<27 {
            for x in 0..<41 {
                if (5..<20).contains(x) && (3..<15).contains(y) { #expect(out[x, y] == (128, 128, 128)) }
                else { #expect(out[x, y] == img[x, y]) }
            }
        }
    }

    @Test func videoKeepsTimingDropsAudioAndTagsAndChangesOnlyMasks() throws {
        let s = try Scratch()
        // 20 frames with variable timing (frames 5...7 dropped), audio, a GPS-like subtitle and tags.
        try "1\n00:00:00,000 --> 00:00:01,000\n$GPRMC,083107,A,4851.50,N,00217.67,E,28.1,90.0,140526,,*1C\n"
            .write(toFile: s.file("gps.srt"), atomically: true, encoding: .utf8)
        try tool("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-f", "lavfi",
                            "-i", "sine=frequency=440:sample_rate=16000", "-i", s.file("gps.srt"), "-t", "2.3",
                            "-vf", "select='not(between(n,5,7))'", "-fps_mode", "passthrough",
                            "-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:v", "libx264", "-preset", "ultrafast",
                            "-c:a", "aac", "-c:s", "mov_text", "-metadata", "location=+48.8584+002.2945/",
                            "-metadata", "creation_time=2026-05-14T08:31:07Z", "-metadata", "title=trip",
                            s.file("in.mp4")])
        let frames = try videoTiming(s.file("in.mp4")).pts.count
        _ = try s.mkdir("masks")
        for i in 0..<frames {
            try StillImage.writeGray(carLabelMap(width: 96, height: 64, car: (10..<40, 10..<30)),
                                     to: s.file(String(format: "masks/%06d.png", i)))
        }
        let r = try CLI.run(["anonymize", "--detect", "none", s.file("in.mp4"), "--masks", s.file("masks"), "--method", "graymask",
                             "-o", s.file("out.mp4"), "--quiet", "--report", s.file("report.json")])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try videoTiming(s.file("in.mp4")), b = try videoTiming(s.file("out.mp4"))
        #expect(a.pts == b.pts)
        #expect(a.duration == b.duration)
        #expect(try codecTypes(s.file("out.mp4")) == ["video"])
        let tags = try tool("ffprobe", ["-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "flat", s.file("out.mp4")])
        #expect(!tags.contains("location") && !tags.contains("creation_time") && !tags.contains("trip"))

        // Inside the mask: flat gray (within codec noise); outside: close to the source.
        let src = try VideoReader(path: s.file("in.mp4")), dst = try VideoReader(path: s.file("out.mp4"))
        while let f = try src.nextFrame(), let g = try dst.nextFrame() {
            let inside = g.image[25, 20]
            #expect(abs(Int(inside.0) - 128) < 10 && abs(Int(inside.1) - 128) < 10)
            var err = 0
            for y in 40..<64 { for x in 50..<96 { err += abs(Int(f.image[x, y].1) - Int(g.image[x, y].1)) } }
            #expect(Double(err) / Double(24 * 46) < 6)
        }
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.file("report.json")))) as? [String: Any]
        let files = report?["files"] as? [[String: Any]]
        #expect(files?.first?["frames"] as? Int == frames)
        #expect((files?.first?["droppedStreams"] as? [String])?.isEmpty == false)
    }

    @Test func audioKeepCopiesPacketsUnchanged() throws {
        let s = try Scratch()
        try tool("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-f", "lavfi",
                            "-i", "sine=frequency=300:sample_rate=22050", "-t", "1.5", "-c:v", "libx264",
                            "-preset", "ultrafast", "-c:a", "aac", s.file("in.mp4")])
        _ = try s.mkdir("m")
        for i in 0..<15 { try StillImage.writeGray(GrayImage(width: 64, height: 48, fill: 0), to: s.file(String(format: "m/%06d.png", i))) }
        /// framemd5 rows of the audio packets: dts, pts, duration, size, payload md5 (side data dropped).
        func audioPackets(_ p: String) throws -> [[String]] {
            try tool("ffmpeg", ["-v", "error", "-i", p, "-map", "0:a", "-c", "copy", "-f", "framemd5", "-"])
                .split(separator: "\n").filter { !$0.hasPrefix("#") }
                .map { Array($0.split(separator: ",").dropFirst().prefix(5).map { $0.trimmingCharacters(in: .whitespaces) }) }
        }
        let source = try audioPackets(s.file("in.mp4"))
        #expect(!source.isEmpty)
        // Same container: timestamps and payloads identical.
        let r = try CLI.run(["anonymize", "--detect", "none", s.file("in.mp4"), "--masks", s.file("m"), "--method", "blur",
                             "--audio", "keep", "-o", s.file("out.mp4"), "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try audioPackets(s.file("out.mp4")) == source)
        // Matroska counts time in milliseconds: payloads identical, timestamps in its own unit.
        let k = try CLI.run(["anonymize", "--detect", "none", s.file("in.mp4"), "--masks", s.file("m"), "--method", "blur",
                             "--audio", "keep", "-o", s.file("out.mkv"), "-q"])
        #expect(k.status == 0, "\(k.stderr)")
        #expect(try audioPackets(s.file("out.mkv")).map { $0.suffix(2) } == source.map { $0.suffix(2) })
    }

    @Test func folderIsMirroredOtherFilesSkippedExtensionsCaseInsensitive() throws {
        let s = try Scratch()
        _ = try s.mkdir("in/sub")
        _ = try s.mkdir("masks/sub")
        try StillImage.write(texture(width: 16, height: 12), to: s.file("in/a.png"))
        try StillImage.write(texture(width: 16, height: 12), to: s.file("in/sub/b.JPG"))
        try "notes".write(toFile: s.file("in/readme.txt"), atomically: true, encoding: .utf8)
        try StillImage.writeGray(carLabelMap(width: 16, height: 12, car: (0..<4, 0..<4)), to: s.file("masks/a.png"))
        try StillImage.writeGray(carLabelMap(width: 16, height: 12, car: (0..<4, 0..<4)), to: s.file("masks/sub/b.png"))
        let r = try CLI.run(["anonymize", "--detect", "none", s.file("in"), "--masks", s.file("masks"), "--method", "pixelate", "-o", s.file("out")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.tree("out") == ["a.png", "sub/b.JPG"])
        #expect(r.stderr.contains("readme.txt"))
        // Resume: a second run with --skip-existing leaves the outputs alone.
        let before = try FileManager.default.attributesOfItem(atPath: s.file("out/a.png"))[.modificationDate] as? Date
        let again = try CLI.run(["anonymize", "--detect", "none", s.file("in"), "--masks", s.file("masks"), "--method", "pixelate",
                                 "-o", s.file("out"), "--skip-existing"])
        #expect(again.status == 0)
        let after = try FileManager.default.attributesOfItem(atPath: s.file("out/a.png"))[.modificationDate] as? Date
        #expect(before == after)
    }
}

@Suite struct ReportFileTests {
    /// A report named by a relative path is written, and written again over itself on a second run.
    @Test func relativeReportPathIsWrittenAndReplaced() throws {
        let s = try Scratch()
        try StillImage.write(texture(width: 16, height: 16), to: s.file("in.png"))
        _ = try s.mkdir("masks")
        try StillImage.writeGray(carLabelMap(width: 16, height: 16, car: (2..<8, 2..<8)), to: s.file("masks/in.png"))
        for run in 0..<2 {
            let r = try CLI.run(["anonymize", "in.png", "--masks", "masks", "--method", "blur", "--detect", "none",
                                 "-o", "out\(run).png", "--report", "report.json", "--quiet"], in: s.path)
            #expect(r.status == 0, "\(r.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.file("report.json"))))
            let files = (report as? [String: Any])?["files"] as? [[String: Any]]
            #expect(files?.first?["output"] as? String == s.file("out\(run).png") || files?.first?["output"] as? String == "out\(run).png")
        }
        #expect(s.tree() == ["in.png", "masks/in.png", "out0.png", "out1.png", "report.json"])
    }
}

@Suite(.serialized) struct BadInputCLITests {
    /// Runs anonymize on `input` and checks: non-zero exit, one clear line naming the file, no output left.
    func expectCleanFailure(_ s: Scratch, _ input: String, output: String? = nil, mentions: String) throws {
        _ = try? s.mkdir("masks")
        let out = output ?? s.file("out/result.mp4")
        let r = try CLI.run(["anonymize", "--detect", "none", input, "--masks", s.file("masks"), "--method", "blur", "-o", out, "-q"])
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.contains { $0.contains(mentions) }, "stderr: \(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"), "crashed: \(r.stderr)")
        if output == nil { #expect(s.tree("out").isEmpty, "left: \(s.tree("out"))") }
    }

    @Test func randomBytesWithVideoExtension() throws {
        let s = try Scratch()
        var bytes = [UInt8](repeating: 0, count: 50_000)
        var x: UInt32 = 7
        for i in bytes.indices { x = x &* 1_103_515_245 &+ 12345; bytes[i] = UInt8(truncatingIfNeeded: x >> 16) }
        try Data(bytes).write(to: URL(fileURLWithPath: s.file("junk.mp4")))
        try expectCleanFailure(s, s.file("junk.mp4"), mentions: "junk.mp4")
    }

    @Test func emptyFile() throws {
        let s = try Scratch()
        FileManager.default.createFile(atPath: s.file("empty.mov"), contents: Data())
        try expectCleanFailure(s, s.file("empty.mov"), mentions: "empty.mov")
    }

    @Test func truncatedRecordingWithIndexAtTheEnd() throws {
        let s = try Scratch()
        try tool("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-t", "3",
                            "-c:v", "libx264", "-preset", "ultrafast", s.file("full.mp4")])
        let data = try Data(contentsOf: URL(fileURLWithPath: s.file("full.mp4")))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: s.file("cut.mp4")))
        try expectCleanFailure(s, s.file("cut.mp4"), mentions: "cut.mp4")
    }

    @Test func truncatedRecordingWithIndexAtTheFrontIsProcessedAndReported() throws {
        let s = try Scratch()
        try tool("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-t", "3",
                            "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", s.file("full.mp4")])
        let data = try Data(contentsOf: URL(fileURLWithPath: s.file("full.mp4")))
        try data.prefix(data.count * 6 / 10).write(to: URL(fileURLWithPath: s.file("cut.mp4")))
        _ = try s.mkdir("masks")
        for i in 0..<30 { try StillImage.writeGray(GrayImage(width: 96, height: 64, fill: 13), to: s.file(String(format: "masks/%06d.png", i))) }
        let r = try CLI.run(["anonymize", "--detect", "none", s.file("cut.mp4"), "--masks", s.file("masks"), "--method", "graymask",
                             "-o", s.file("out.mp4"), "--report", s.file("r.json")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("truncated"))
        let n = try videoTiming(s.file("out.mp4")).pts.count
        #expect(n > 0 && n < 30)
    }

    @Test func folderWithNoMedia() throws {
        let s = try Scratch()
        _ = try s.mkdir("docs")
        try "x".write(toFile: s.file("docs/a.txt"), atomically: true, encoding: .utf8)
        try expectCleanFailure(s, s.file("docs"), output: s.file("o"), mentions: "holds no video or image")
    }

    @Test func audioOnlyFile() throws {
        let s = try Scratch()
        try tool("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440", "-t", "1", "-c:a", "aac", s.file("voice.mp4")])
        try expectCleanFailure(s, s.file("voice.mp4"), mentions: "voice.mp4")
    }

    @Test func outputEqualToInputIsRefusedAndInputUntouched() throws {
        let s = try Scratch()
        try StillImage.write(texture(width: 8, height: 8), to: s.file("in.png"))
        let before = try Data(contentsOf: URL(fileURLWithPath: s.file("in.png")))
        try expectCleanFailure(s, s.file("in.png"), output: s.file("in.png"), mentions: "overwrite")
        #expect(try Data(contentsOf: URL(fileURLWithPath: s.file("in.png"))) == before)
    }

    @Test func unwritableOutputFolder() throws {
        let s = try Scratch()
        try StillImage.write(texture(width: 8, height: 8), to: s.file("in.png"))
        _ = try s.mkdir("masks")
        try StillImage.writeGray(GrayImage(width: 8, height: 8, fill: 13), to: s.file("masks/in.png"))
        // A regular file where the output folder should be: cannot be written as root or not.
        try "x".write(toFile: s.file("blocked"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["anonymize", "--detect", "none", s.file("in.png"), "--masks", s.file("masks"), "--method", "blur",
                             "-o", s.file("blocked/out.png"), "-q"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("blocked"), "\(r.stderr)")
    }
}
