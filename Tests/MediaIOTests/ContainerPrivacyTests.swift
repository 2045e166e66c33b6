import Foundation
import Testing
@testable import MediaIO

@Suite struct ContainerPrivacyTests {
    /// A dashcam-like MOV: video, AAC audio, a mov_text subtitle with GPS text, a timecode data track,
    /// and location, creation time, make/model and title tags.
    static func dashcamClip(_ dir: TestDir, audioCodec: String = "aac") throws -> String {
        let srt = dir.file("gps.srt")
        try Data("1\n00:00:00,000 --> 00:00:01,000\nN48.8584 E2.2945 52km/h\n\n".utf8).write(to: URL(fileURLWithPath: srt))
        return try dir.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-i", srt, "-t", "1.2", "-map", "0:v", "-map", "1:a", "-map", "2:s",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", audioCodec, "-c:s", "mov_text",
            "-metadata", "location=+48.8584+002.2945/", "-metadata", "creation_time=2024-05-01T10:00:00Z",
            "-metadata", "make=AcmeCam", "-metadata", "model=DC-9", "-metadata", "title=Trip to work",
            "-metadata:s:v", "handler_name=AcmeCam video", "-timecode", "10:00:00:00", dir.file("dashcam.mov")])
    }

    static let sensitive = ["48.8584", "2024-05-01", "AcmeCam", "DC-9", "Trip to work", "10:00:00"]

    @Test func defaultsStripTagsAndSideStreams() throws {
        let dir = try TestDir()
        let input = try Self.dashcamClip(dir)
        let inTags = try allTags(input)
        #expect(Self.sensitive.allSatisfy { inTags.contains($0) }, "fixture lacks tags: \(inTags)")
        #expect(try streamTypes(input).sorted() == ["audio", "data", "subtitle", "video"])

        let probe = try MediaProbe.probe(path: input)
        let kinds = Set(probe.privacyItems.map(\.kind))
        #expect(kinds.isSuperset(of: [.location, .time, .device, .subtitleStream, .audio]))
        #expect(probe.privacyItems.allSatisfy { $0.removedByDefault })

        for ext in ["mp4", "mov", "mkv"] {
            let output = dir.file("out.\(ext)")
            let report = try VideoTranscoder.run(input: input, output: output) { $0.image }
            let tags = try allTags(output)
            for s in Self.sensitive { #expect(!tags.contains(s), "\(ext) keeps \(s): \(tags)") }
            #expect(!tags.lowercased().contains("lavf5"), "no versioned encoder tag")
            #expect(try streamTypes(output) == ["video"])
            #expect(report.audio == "dropped")
            #expect(report.droppedStreams.count == 3)
            #expect(report.strippedTags.contains("location"))
            #expect(report.strippedTags.contains("creation_time"))
            let outProbe = try MediaProbe.probe(path: output)
            #expect(outProbe.privacyItems.allSatisfy { $0.detail.contains("encoder=Lavf") }, "\(outProbe)")
        }
        // The creation time in the QuickTime headers is zero, not the recording's.
        let raw = try Data(contentsOf: URL(fileURLWithPath: dir.file("out.mov")))
        #expect(!raw.contains(Data("48.8584".utf8)))
    }

    @Test func keepMetadataKeepsTagsAndSubtitles() throws {
        let dir = try TestDir()
        let input = try Self.dashcamClip(dir)
        let output = dir.file("kept.mov")
        let report = try VideoTranscoder.run(input: input, output: output,
                                             options: EncodeOptions(audio: .keep, keepMetadata: true)) { $0.image }
        let tags = try allTags(output)
        for s in ["48.8584", "2024-05-01", "Trip to work"] { #expect(tags.contains(s), "lost \(s): \(tags)") }
        #expect(try streamTypes(output).contains("subtitle"))
        #expect(report.strippedTags.isEmpty)
    }

    @Test func audioKeptPacketsAreIdentical() throws {
        let dir = try TestDir()
        let input = try Self.dashcamClip(dir)
        for ext in ["mp4", "mkv", "mov"] {
            let output = dir.file("a.\(ext)")
            let report = try VideoTranscoder.run(input: input, output: output, options: EncodeOptions(audio: .keep)) { $0.image }
            #expect(report.audio == "copied")
            #expect(try streamTypes(output) == ["video", "audio"])
            if ext == "mkv" {
                // Matroska counts in milliseconds and stores AAC priming as a codec delay rather than
                // negative timestamps (as `ffmpeg -c copy` does too), so compare the payloads.
                #expect(try audioPackets(input).map(payload) == (try audioPackets(output)).map(payload))
            } else {
                #expect(try audioPackets(input) == (try audioPackets(output)), "\(ext)")
            }
        }
    }

    @Test func pcmIntoMP4IsReencodedToAAC() throws {
        let dir = try TestDir()
        let input = try Self.dashcamClip(dir, audioCodec: "pcm_s16le")
        let output = dir.file("pcm.mp4")
        let report = try VideoTranscoder.run(input: input, output: output, options: EncodeOptions(audio: .keep)) { $0.image }
        #expect(report.audio == "re-encoded to aac")
        #expect(try probeRows(output, "a:0", "stream=codec_name") == ["aac"])
        let d = Double(try probeRows(output, "a:0", "stream=duration").first ?? "") ?? 0
        #expect(abs(d - 1.2) < 0.05)
        // MOV holds PCM, so there it is copied.
        let mov = dir.file("pcm.mov")
        let r2 = try VideoTranscoder.run(input: input, output: mov, options: EncodeOptions(audio: .keep)) { $0.image }
        #expect(r2.audio == "copied")
        #expect(try audioPackets(input) == (try audioPackets(mov)))
    }
}

extension ContainerPrivacyTests {
    /// A transport stream whose SMPTE 302M audio goes from 6 channels to 2 (two recordings joined): the
    /// re-encode to AAC must keep every sample and read only the channels each frame has.
    @Test func channelCountChangeIsReencoded() throws {
        let dir = try TestDir()
        for (name, channels) in [("a.ts", "6"), ("b.ts", "2")] {
            try dir.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
                            "-t", "0.5", "-ac", channels, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                            "-c:a", "s302m", "-strict", "-2", dir.file(name)])
        }
        let joined = dir.file("joined.ts")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.file("a.ts"))) + Data(contentsOf: URL(fileURLWithPath: dir.file("b.ts")))
        try bytes.write(to: URL(fileURLWithPath: joined))
        let output = dir.file("out.mp4")
        let report = try VideoTranscoder.run(input: joined, output: output, options: EncodeOptions(audio: .keep)) { $0.image }
        #expect(report.audio == "re-encoded to aac")
        #expect(try probeRows(output, "a:0", "stream=codec_name,channels") == ["aac,6"])
        let d = Double(try probeRows(output, "a:0", "stream=duration").first ?? "") ?? 0
        #expect(abs(d - 1.0) < 0.1, "audio duration \(d)")
    }
}

/// The audio packets' timing and md5 of their payload, from `ffmpeg -f framemd5 -c copy`.
func audioPackets(_ path: String) throws -> [String] {
    try run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:a:0", "-c", "copy", "-f", "framemd5", "-"])
        .split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
}

/// Size and md5 columns of a framemd5 line.
func payload(_ line: String) -> String {
    line.split(separator: ",").dropFirst(4).prefix(2).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ",")
}
