import Foundation
import Testing
@testable import MediaIO

@Suite struct BadInputTests {
    /// Transcoding `input` fails with a `MediaError` that names it, and leaves nothing in the folder.
    func expectRejected(_ dir: TestDir, _ input: String, matches: (MediaError) -> Bool) {
        let before = Set(dir.contents)
        do {
            _ = try VideoTranscoder.run(input: input, output: dir.file("out.mp4")) { $0.image }
            Issue.record("\(input) was accepted")
        } catch let e as MediaError {
            #expect(matches(e), "unexpected error \(e)")
            #expect(e.description.contains(input))
        } catch {
            Issue.record("untyped error \(error)")
        }
        #expect(Set(dir.contents) == before, "left \(Set(dir.contents).subtracting(before))")
    }

    @Test(arguments: ["mp4", "mkv", "bin", "mov"])
    func randomBytes(ext: String) throws {
        let dir = try TestDir()
        var rng = SplitMix(7)
        let bytes = (0..<200_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let path = dir.file("random.\(ext)")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        expectRejected(dir, path) {
            if case .unrecognizedFormat = $0 { return true }
            if case .noVideoStream = $0 { return true }
            return false
        }
    }

    @Test func emptyNonexistentDirectoryAndText() throws {
        let dir = try TestDir()
        let empty = dir.file("empty.mp4")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        expectRejected(dir, empty) { $0 == .emptyFile(path: empty) }
        let missing = dir.file("missing.mp4")
        expectRejected(dir, missing) { $0 == .fileNotFound(path: missing) }
        let sub = dir.file("folder.mp4")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
        expectRejected(dir, sub) { $0 == .isDirectory(path: sub) }
        let text = dir.file("notes.mp4")
        try Data(String(repeating: "hello dashcam\n", count: 100).utf8).write(to: URL(fileURLWithPath: text))
        expectRejected(dir, text) { if case .unrecognizedFormat = $0 { return true } else { return false } }
        #expect(throws: MediaError.self) { _ = try StillImage.read(path: dir.file("none.png")) }
        #expect(throws: MediaError.self) { _ = try MediaProbe.probe(path: sub) }
    }

    @Test func audioOnly() throws {
        let dir = try TestDir()
        let path = try dir.ffmpeg(["-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "0.5", "-c:a", "aac", dir.file("voice.m4a")])
        expectRejected(dir, path) { $0 == .noVideoStream(path: path) }
    }

    @Test func moovAtEndTruncated() throws {
        let dir = try TestDir()
        let full = try dir.clip("full.mp4", seconds: 2)
        let data = try Data(contentsOf: URL(fileURLWithPath: full))
        let cut = dir.file("cut.mp4")
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: cut))
        try FileManager.default.removeItem(atPath: full)
        expectRejected(dir, cut) { $0 == .missingIndex(path: cut) }
        #expect(MediaError.missingIndex(path: cut).description.contains("truncated"))
    }

    @Test func faststartTruncatedDecodesWhatItCan() throws {
        let dir = try TestDir()
        let full = try dir.clip("full.mp4", seconds: 2, extra: [
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"])
        let data = try Data(contentsOf: URL(fileURLWithPath: full))
        let cut = dir.file("cut.mp4")
        try data.prefix(data.count * 6 / 10).write(to: URL(fileURLWithPath: cut))
        let out = dir.file("out.mkv")
        let report = try VideoTranscoder.run(input: cut, output: out) { $0.image }
        #expect(report.truncated)
        #expect(report.expectedFrames == 50)
        #expect(report.frames > 10 && report.frames < 50)
        #expect(try frameTimes(out).count == report.frames)
    }

    @Test func outputNeverOverwritesInput() throws {
        let dir = try TestDir()
        let input = try dir.clip("in.mp4", seconds: 0.3)
        let size = try FileManager.default.attributesOfItem(atPath: input)[.size] as? Int
        #expect(throws: MediaError.outputIsInput(path: input)) {
            _ = try VideoTranscoder.run(input: input, output: input) { $0.image }
        }
        let link = dir.file("link.mp4")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: input)
        #expect(throws: MediaError.outputIsInput(path: link)) {
            _ = try VideoTranscoder.run(input: input, output: link) { $0.image }
        }
        #expect(try FileManager.default.attributesOfItem(atPath: input)[.size] as? Int == size)
        #expect(throws: MediaError.unsupportedExtension(path: dir.file("out.avi"))) {
            _ = try VideoTranscoder.run(input: input, output: dir.file("out.avi")) { $0.image }
        }
        #expect(Set(dir.contents) == ["in.mp4", "link.mp4"])
    }

    @Test func failingTransformLeavesNoFile() throws {
        let dir = try TestDir()
        let input = try dir.clip("in.mp4", seconds: 0.5)
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            _ = try VideoTranscoder.run(input: input, output: dir.file("out.mp4")) { f in
                if f.index == 5 { throw Stop() }
                return f.image
            }
        }
        #expect(dir.contents == ["in.mp4"])
    }

    @Test func oversizedPicturesAreRefusedBeforeDecoding() throws {
        #expect(throws: MediaError.dimensionsTooLarge(path: "x", width: 20000, height: 10)) {
            try MediaLimits.check(width: 20000, height: 10, path: "x")
        }
        #expect(throws: MediaError.self) { try MediaLimits.check(width: 12000, height: 12000, path: "x") }
    }

    @Test func corruptedMiddleStillDecodesTheRest() throws {
        let dir = try TestDir()
        let input = try dir.clip("in.mp4", seconds: 2, extra: [
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"])
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: input)))
        var rng = SplitMix(3)
        let start = bytes.count / 2
        for i in start..<min(bytes.count, start + 20_000) { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
        let bad = dir.file("bad.mp4")
        try Data(bytes).write(to: URL(fileURLWithPath: bad))
        let report = try VideoTranscoder.run(input: bad, output: dir.file("out.mp4")) { $0.image }
        #expect(report.frames > 25)
        #expect(try frameTimes(dir.file("out.mp4")).count == report.frames)
    }

    @Test func oddSizesNeedMpeg4() throws {
        let dir = try TestDir()
        let path = dir.file("odd.mp4")
        #expect(throws: MediaError.oddDimensions(path: path, width: 65, height: 49)) {
            _ = try VideoWriter(path: path, width: 65, height: 49, timeBase: Rational(num: 1, den: 25), frameRate: 25)
        }
        let writer = try VideoWriter(path: path, width: 65, height: 49, timeBase: Rational(num: 1, den: 25), frameRate: 25,
                                     options: EncodeOptions(codec: .mpeg4))
        for i in 0..<5 { try writer.write(patternImage(width: 65, height: 49), pts: Int64(i), duration: 1) }
        try writer.finish()
        #expect(try probeRows(path, "v:0", "stream=width,height") == ["65,49"])
    }
}
