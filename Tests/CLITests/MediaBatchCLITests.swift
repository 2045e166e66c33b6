import Foundation
import MediaIO
import Testing

/// Recordings as dashcams leave them: transport streams, joined clips, twins in two containers, partial files
/// of a killed run.
@Suite(.serialized) struct MediaBatchCLITests {
    /// A clip made by ffmpeg from testsrc2.
    static func clip(_ path: String, size: String, seconds: String = "0.4", format: [String] = []) throws {
        try tool("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=10", "-t", seconds,
                            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"] + format + [path])
    }

    /// Two transport streams joined byte for byte: 320x180, then 160x90 (a resolution change mid-stream).
    static func joinedTS(_ s: Scratch, _ path: String) throws {
        try clip(s.file("part1.ts"), size: "320x180")
        try clip(s.file("part2.ts"), size: "160x90")
        let joined = try Data(contentsOf: URL(fileURLWithPath: s.file("part1.ts")))
            + Data(contentsOf: URL(fileURLWithPath: s.file("part2.ts")))
        try joined.write(to: URL(fileURLWithPath: path))
        try FileManager.default.removeItem(atPath: s.file("part1.ts"))
        try FileManager.default.removeItem(atPath: s.file("part2.ts"))
    }

    static func labelMaps(_ folder: String, count: Int = 12) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for i in 0..<count {
            try StillImage.writeGray(carLabelMap(width: 64, height: 36, car: (4..<20, 4..<20)),
                                     to: folder + String(format: "/%06d.png", i))
        }
    }

    /// The pid of a process that has ended.
    static func deadPid() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    @Test func resolutionChangeIsScaledToTheFirstSizeAndStalePartialsGo() throws {
        let s = try Scratch()
        try Self.joinedTS(s, s.file("joined.ts"))
        try Self.labelMaps(s.file("masks"))
        let dead = try Self.deadPid()
        let stale = ".old.svia-partial-\(dead)-k3j9.mp4", live = ".live.svia-partial-\(getpid())-abc.mp4"
        for name in [stale, live, ".keep", ".x.svia-partial-notapid.mp4"] {
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: s.file(name)))
        }
        let r = try CLI.run(["anonymize", s.file("joined.ts"), "--masks", s.file("masks"), "--method", "graymask",
                             "--detect", "none", "-o", s.file("out.mp4"), "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try tool("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                                     "-of", "csv=p=0", s.file("out.mp4")]).trimmingCharacters(in: .whitespacesAndNewlines) == "320,180")
        #expect(try videoTiming(s.file("out.mp4")).pts.count == 8)
        let hidden = s.tree().filter { $0.hasPrefix(".") }
        #expect(hidden.sorted() == [".keep", live, ".x.svia-partial-notapid.mp4"].sorted())
    }

    @Test func folderOfTransportStreamsIsWrittenAsMP4() throws {
        let s = try Scratch()
        _ = try s.mkdir("rec")
        try Self.joinedTS(s, s.file("rec/rec1.ts"))
        try Self.clip(s.file("rec/rec2.ts"), size: "64x48")
        try Self.clip(s.file("rec/rec2.mp4"), size: "64x48")
        for name in ["rec1", "rec2"] { try Self.labelMaps(s.file("masks/\(name)")) }
        let r = try CLI.run(["anonymize", s.file("rec"), "--masks", s.file("masks"), "--method", "graymask",
                             "--detect", "none", "-o", s.file("o"), "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.tree("o") == ["rec1.mp4", "rec2.mp4", "rec2_ts.mp4"])
        for name in ["rec1.mp4", "rec2.mp4", "rec2_ts.mp4"] {
            #expect(try videoTiming(s.file("o/\(name)")).pts.count == 4 || name == "rec1.mp4")
        }
        #expect(try videoTiming(s.file("o/rec1.mp4")).pts.count == 8)

        let explicit = try CLI.run(["anonymize", s.file("rec/rec2.ts"), "--masks", s.file("masks"), "--method", "graymask",
                                    "--detect", "none", "-o", s.file("out.ts"), "--quiet"])
        #expect(explicit.status != 0)
        #expect(explicit.stderr.contains("out.ts") && explicit.stderr.contains(".mp4"), "\(explicit.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.file("out.ts")))
    }

    @Test(arguments: ["masks", "masks/exported", "."])
    func exportingMasksOverTheLabelMapsIsRefused(export: String) throws {
        let s = try Scratch()
        try StillImage.write(texture(width: 32, height: 16), to: s.file("in.png"))
        _ = try s.mkdir("masks")
        let map = carLabelMap(width: 32, height: 16, car: (0..<8, 0..<8))
        try StillImage.writeGray(map, to: s.file("masks/in.png"))
        let r = try CLI.run(["anonymize", s.file("in.png"), "--masks", s.file("masks"), "--method", "graymask",
                             "--detect", "none", "-o", s.file("out.png"), "--export-masks", s.file(export), "--quiet"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--export-masks"), "\(r.stderr)")
        #expect(try StillImage.readGray(path: s.file("masks/in.png")) == map)
        #expect(!FileManager.default.fileExists(atPath: s.file("out.png")))
    }

    @Test func keyframeStillsOfTwinsAreSeparateAndSkipExistingKeepsThem() throws {
        let s = try Scratch()
        _ = try s.mkdir("in")
        try Self.clip(s.file("in/a.mp4"), size: "64x48", seconds: "0.8")
        try Self.clip(s.file("in/a.mov"), size: "64x48", seconds: "0.8")
        try Self.labelMaps(s.file("masks/a"))
        let args = ["anonymize", s.file("in"), "--masks", s.file("masks"), "--method", "graymask", "--detect", "none",
                    "--keyframes", "--every", "0.5", "-o", s.file("kf"), "--quiet"]
        let r = try CLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.tree("kf") == ["a_mov_00-00-00.000.png", "a_mov_00-00-00.500.png",
                                 "a_mp4_00-00-00.000.png", "a_mp4_00-00-00.500.png"])
        let marker = RGBImage(width: 2, height: 2, fill: (1, 2, 3))
        try StillImage.write(marker, to: s.file("kf/a_mp4_00-00-00.500.png"))
        let again = try CLI.run(args + ["--skip-existing"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try StillImage.read(path: s.file("kf/a_mp4_00-00-00.500.png")) == marker)
    }

    /// A colour label map is refused by name; the other picture of the folder is still done.
    @Test func colourLabelMapIsRefusedByName() throws {
        let s = try Scratch()
        _ = try s.mkdir("in")
        _ = try s.mkdir("masks")
        for name in ["a", "b"] { try StillImage.write(texture(width: 32, height: 16), to: s.file("in/\(name).png")) }
        try StillImage.writeGray(carLabelMap(width: 32, height: 16, car: (0..<8, 0..<8)), to: s.file("masks/a.png"))
        try StillImage.write(texture(width: 32, height: 16), to: s.file("masks/b.png"))
        let r = try CLI.run(["anonymize", s.file("in"), "--masks", s.file("masks"), "--method", "graymask",
                             "--detect", "none", "-o", s.file("o")])
        #expect(r.status != 0)
        #expect(r.stderr.contains(s.file("masks/b.png")) && r.stderr.contains("label map"), "\(r.stderr)")
        #expect(s.tree("o") == ["a.png"])
    }
}
