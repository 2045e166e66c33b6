import Foundation
import MediaIO
import Testing

/// `svia plan`, shards run as separate processes with a scheduler's index in the environment, `svia merge`,
/// and resumable runs, compared with a single-process run of the same job.
@Suite(.serialized) struct ScaleCLITests {
    /// A folder with two clips and a still, with label maps for every picture: one clip with audio and a
    /// keyframe every second, one at 30 fps with a keyframe every 5 frames (cuts that are not whole milliseconds).
    func makeFolder(_ s: Scratch) throws {
        _ = try s.mkdir("in/sub")
        try tool("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-f", "lavfi",
                            "-i", "sine=frequency=440:sample_rate=16000", "-t", "3", "-c:v", "libx264", "-preset", "ultrafast",
                            "-g", "10", "-c:a", "aac", s.file("in/drive.mp4")])
        try tool("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=30", "-t", "1.2",
                            "-c:v", "libx264", "-preset", "ultrafast", "-g", "5", s.file("in/sub/short.mp4")])
        try StillImage.write(texture(width: 41, height: 27), to: s.file("in/street.png"))
        try writeMaps(s, video: "drive", frames: 30, width: 96, height: 64)
        try writeMaps(s, video: "sub/short", frames: 36, width: 64, height: 48)
        try StillImage.writeGray(carLabelMap(width: 41, height: 27, car: (5..<20, 3..<15)), to: s.file("masks/street.png"))
    }

    func writeMaps(_ s: Scratch, video: String, frames: Range<Int>, width: Int, height: Int, shift: Int = 0) throws {
        _ = try s.mkdir("masks/" + video)
        for i in frames {
            let x = 5 + (i % 10) * 3 + shift
            try StillImage.writeGray(carLabelMap(width: width, height: height, car: (x..<(x + 20), 8..<30)),
                                     to: s.file("masks/" + video + String(format: "/%06d.png", i)))
        }
    }

    func writeMaps(_ s: Scratch, video: String, frames: Int, width: Int, height: Int) throws {
        try writeMaps(s, video: video, frames: 0..<frames, width: width, height: height)
    }

    /// Runs svia processes at the same time, each with its own environment.
    func runTogether(_ runs: [([String], [String: String])]) throws -> [CLI.Result] {
        var procs: [(Process, Pipe)] = []
        for (args, env) in runs {
            let p = Process()
            p.executableURL = CLI.binary
            p.arguments = args
            p.environment = ProcessInfo.processInfo.environment.filter {
                !["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "AWS_BATCH_JOB_ARRAY_INDEX"].contains($0.key)
            }.merging(env) { $1 }
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            procs.append((p, err))
        }
        return procs.map { p, err in
            let e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return CLI.Result(status: p.terminationStatus, stdout: "", stderr: String(decoding: e, as: UTF8.self))
        }
    }

    /// Mean absolute difference over all samples of two videos' frames; nil when the frame counts differ.
    func meanDifference(_ a: String, _ b: String) throws -> Double? {
        let x = try VideoReader(path: a), y = try VideoReader(path: b)
        var sum = 0.0, n = 0.0
        while true {
            let f = try x.nextFrame(), g = try y.nextFrame()
            if f == nil && g == nil { break }
            guard let f, let g, f.image.pixels.count == g.image.pixels.count else { return nil }
            for i in 0..<f.image.pixels.count { sum += Double(abs(Int(f.image.pixels[i]) - Int(g.image.pixels[i]))) }
            n += Double(f.image.pixels.count)
        }
        return sum / max(n, 1)
    }

    /// Frame timestamps as ffprobe prints them, without the empty side-data fields a segment's first frame adds.
    func timestamps(_ p: String) throws -> [String] {
        try videoTiming(p).pts.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ", ")) }
    }

    /// The sharded (or resumed) output differs from the single run by codec noise only: it is as close to the
    /// source as the single run is, and close to the single run.
    func expectCodecNoise(_ out: String, single: String, source: String) throws {
        let a = try meanDifference(single, source), b = try meanDifference(out, source), c = try meanDifference(out, single)
        #expect(a != nil && b != nil && c != nil)
        guard let a, let b, let c else { return }
        #expect(b <= a * 1.2 + 0.5, "\(out): \(b) from the source, single run \(a)")
        #expect(c < 4, "\(out): \(c) from the single run")
    }

    /// Frame i of a clip from `makeFolder` is gray from column 5 + (i % 10) * 3 (its own label map): a frame
    /// painted with a neighbour's map has gray outside that edge or none just inside it.
    func expectRegionsFollowFrames(_ path: String) throws {
        let r = try VideoReader(path: path)
        var wrong = 0, frames = 0
        func gray(_ p: (UInt8, UInt8, UInt8)) -> Bool { abs(Int(p.0) - 128) < 12 && abs(Int(p.1) - 128) < 12 && abs(Int(p.2) - 128) < 12 }
        while let f = try r.nextFrame() {
            let x0 = 5 + (f.index % 10) * 3
            if !gray(f.image[x0 + 1, 20]) || gray(f.image[x0 - 2, 20]) { wrong += 1 }
            frames += 1
        }
        #expect(frames > 0 && wrong <= frames / 10, "\(path): \(wrong) of \(frames) frames with another frame's regions")
    }

    func audioPackets(_ p: String) throws -> [String] {
        try tool("ffmpeg", ["-v", "error", "-i", p, "-map", "0:a", "-c", "copy", "-f", "framemd5", "-"])
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    func jobArguments(_ s: Scratch, output: String) -> [String] {
        [s.file("in"), "-o", s.file(output), "--masks", s.file("masks"), "--detect", "none", "--method", "graymask",
         "--audio", "keep", "--quiet"]
    }

    @Test func shardsInSeparateProcessesThenMergeMatchSingleRun() throws {
        let s = try Scratch()
        try makeFolder(s)
        let single = try CLI.run(["anonymize"] + jobArguments(s, output: "single"))
        #expect(single.status == 0, "\(single.stderr)")

        let plan = try CLI.run(["plan"] + jobArguments(s, output: "out") + ["--shards", "3", "--plan", s.file("plan.json")])
        #expect(plan.status == 0, "\(plan.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.file("plan.json")))) as? [String: Any]
        let files = json?["files"] as? [[String: Any]] ?? []
        let drive = files.first { ($0["relativePath"] as? String) == "drive.mp4" }
        let segments = drive?["segments"] as? [[String: Any]] ?? []
        #expect(segments.count > 1, "the 3 s clip is cut into ranges")
        #expect(segments.allSatisfy { ($0["startFrame"] as? Int ?? -1) % 10 == 0 }, "ranges start on codec keyframes")
        let short = files.first { ($0["relativePath"] as? String) == "sub/short.mp4" }
        #expect((short?["segments"] as? [[String: Any]])?.count ?? 0 > 1)

        let results = try runTogether([
            (["anonymize", "--plan", s.file("plan.json"), "--shard", "env"], ["JOB_COMPLETION_INDEX": "0"]),
            (["anonymize", "--plan", s.file("plan.json"), "--shard", "env"], ["JOB_COMPLETION_INDEX": "1"]),
            (["anonymize", "--plan", s.file("plan.json"), "--shard", "env"], ["SLURM_ARRAY_TASK_ID": "2"]),
        ])
        for r in results { #expect(r.status == 0, "\(r.stderr)") }
        let merge = try CLI.run(["merge", s.file("plan.json"), "--report", s.file("report.json")])
        #expect(merge.status == 0, "\(merge.stderr)")

        for name in ["drive.mp4", "sub/short.mp4"] {
            let b = try timestamps(s.file("out/" + name))
            let single = try timestamps(s.file("single/" + name)), source = try timestamps(s.file("in/" + name))
            #expect(b == single && b == source, "\(name): frame count and timestamps")
            #expect(try videoTiming(s.file("out/" + name)).duration == videoTiming(s.file("single/" + name)).duration)
            try expectCodecNoise(s.file("out/" + name), single: s.file("single/" + name), source: s.file("in/" + name))
        }
        #expect(try audioPackets(s.file("out/drive.mp4")) == audioPackets(s.file("in/drive.mp4")))
        try expectRegionsFollowFrames(s.file("single/drive.mp4"))
        try expectRegionsFollowFrames(s.file("out/drive.mp4"))
        try expectRegionsFollowFrames(s.file("out/sub/short.mp4"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: s.file("out/street.png")))
                == Data(contentsOf: URL(fileURLWithPath: s.file("single/street.png"))))
        #expect(!s.tree("out").contains { $0.contains("svia-segments") }, "segment folders are removed after the merge")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.file("report.json")))) as? [String: Any]
        let totals = report?["totals"] as? [String: Any]
        #expect(totals?["files"] as? Int == 3)
        #expect(totals?["frames"] as? Int == 30 + 36 + 1)
    }

    @Test func planIsByteIdenticalWhenMadeTwice() throws {
        let s = try Scratch()
        try makeFolder(s)
        for name in ["p1.json", "p2.json"] {
            let r = try CLI.run(["plan"] + jobArguments(s, output: "out") + ["--shards", "2", "--plan", s.file(name)])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let a = try Data(contentsOf: URL(fileURLWithPath: s.file("p1.json")))
        #expect(a == (try Data(contentsOf: URL(fileURLWithPath: s.file("p2.json")))))
    }

    @Test func partialSegmentIsRedoneAndMissingSegmentStopsMerge() throws {
        let s = try Scratch()
        try makeFolder(s)
        let plan = try CLI.run(["plan"] + jobArguments(s, output: "out") + ["--shards", "1", "--max-segment-seconds", "1",
                                                                           "--plan", s.file("plan.json")])
        #expect(plan.status == 0, "\(plan.stderr)")
        let first = try CLI.run(["anonymize", "--plan", s.file("plan.json"), "--shard", "0"])
        #expect(first.status == 0, "\(first.stderr)")
        let folder = s.file("out/.drive.mp4.svia-segments")
        // A kill mid-segment leaves a partial file under a temporary name and no report; one segment
        // disappears altogether.
        try FileManager.default.removeItem(atPath: folder + "/seg-000001.json")
        try Data(count: 100).write(to: URL(fileURLWithPath: folder + "/.seg-000001.svia-partial-999999-abc.mp4"))
        try FileManager.default.removeItem(atPath: folder + "/seg-000002.mp4")
        let untouched = try Data(contentsOf: URL(fileURLWithPath: folder + "/seg-000000.json"))

        let refused = try CLI.run(["merge", s.file("plan.json")])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("segment 1") && refused.stderr.contains("seg-000001.mp4"), "\(refused.stderr)")
        #expect(refused.stderr.contains("segment 2") && refused.stderr.contains("seg-000002.mp4"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.file("out/drive.mp4")))

        let again = try CLI.run(["anonymize", "--plan", s.file("plan.json"), "--shard", "0"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/seg-000000.json")) == untouched, "complete segments are skipped")
        #expect(FileManager.default.fileExists(atPath: folder + "/seg-000001.json"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/.seg-000001.svia-partial-999999-abc.mp4"))
        let merge = try CLI.run(["merge", s.file("plan.json")])
        #expect(merge.status == 0, "\(merge.stderr)")
        let single = try CLI.run(["anonymize"] + jobArguments(s, output: "single"))
        #expect(single.status == 0, "\(single.stderr)")
        #expect(try timestamps(s.file("out/drive.mp4")) == timestamps(s.file("single/drive.mp4")))
        try expectCodecNoise(s.file("out/drive.mp4"), single: s.file("single/drive.mp4"), source: s.file("in/drive.mp4"))
    }

    @Test func warmupFramesKeepFrameIndicesAndTheResult() throws {
        let s = try Scratch()
        try makeFolder(s)
        let args = [s.file("in/drive.mp4"), "-o", s.file("out/drive.mp4"), "--masks", s.file("masks/drive"), "--detect", "none",
                    "--method", "graymask", "--quiet"]
        let plan = try CLI.run(["plan"] + args + ["--shards", "2", "--plan", s.file("plan.json")])
        #expect(plan.status == 0, "\(plan.stderr)")
        let shards = try runTogether((0..<2).map {
            (["anonymize", "--plan", s.file("plan.json"), "--shard", "env", "--warmup-frames", "4"], ["AWS_BATCH_JOB_ARRAY_INDEX": "\($0)"])
        })
        for r in shards { #expect(r.status == 0, "\(r.stderr)") }
        let merge = try CLI.run(["merge", s.file("plan.json"), "--quiet"])
        #expect(merge.status == 0, "\(merge.stderr)")
        let single = try CLI.run(["anonymize"] + args.map { $0 == s.file("out/drive.mp4") ? s.file("single.mp4") : $0 })
        #expect(single.status == 0, "\(single.stderr)")
        #expect(try timestamps(s.file("out/drive.mp4")) == timestamps(s.file("single.mp4")))
        try expectCodecNoise(s.file("out/drive.mp4"), single: s.file("single.mp4"), source: s.file("in/drive.mp4"))
        try expectRegionsFollowFrames(s.file("out/drive.mp4"))
    }

    @Test func unreadableFileIsLeftOutOfThePlanAndNamed() throws {
        let s = try Scratch()
        try makeFolder(s)
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: s.file("in/broken.mp4")))
        let r = try CLI.run(["plan"] + jobArguments(s, output: "out") + ["--shards", "2", "--plan", s.file("plan.json")])
        #expect(r.status == 1)
        #expect(r.stderr.contains("broken.mp4"), "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.file("plan.json")))) as? [String: Any]
        #expect((json?["files"] as? [Any])?.count == 3)
        #expect((json?["skipped"] as? [[String: Any]])?.contains { ($0["path"] as? String)?.hasSuffix("broken.mp4") == true } == true)
    }

    @Test func shardIndexFromEnvironmentIsRequired() throws {
        let s = try Scratch()
        let r = try runTogether([(["anonymize", "--plan", s.file("none.json"), "--shard", "env"], [:])])[0]
        #expect(r.status == 2)
        #expect(r.stderr.contains("JOB_COMPLETION_INDEX"), "\(r.stderr)")
    }

    @Test func resumeContinuesAfterAnInterruptedRun() throws {
        let s = try Scratch()
        try makeFolder(s)
        // Label maps stop at frame 15: the run fails in the second segment, as a killed one stops there.
        try FileManager.default.removeItem(atPath: s.file("masks/drive"))
        try writeMaps(s, video: "drive", frames: 0..<15, width: 96, height: 64)
        let args = ["anonymize", s.file("in/drive.mp4"), "-o", s.file("out/drive.mp4"), "--masks", s.file("masks/drive"),
                    "--detect", "none", "--method", "graymask", "--resume", "--segment-seconds", "1", "--quiet"]
        let broken = try CLI.run(args)
        #expect(broken.status == 1)
        let folder = s.file("out/.drive.mp4.svia-segments")
        #expect(FileManager.default.fileExists(atPath: folder + "/seg-000000.json"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/seg-000001.json"))

        // The first segment's maps now point elsewhere: a resumed run keeps its checkpoint, so the output's
        // first frame still shows the old region.
        try writeMaps(s, video: "drive", frames: 0..<10, width: 96, height: 64, shift: 50)
        try writeMaps(s, video: "drive", frames: 15..<30, width: 96, height: 64)
        let resumed = try CLI.run(args + ["--report", s.file("report.json")])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder), "checkpoints are removed once the output is complete")
        let frame0 = try VideoReader(path: s.file("out/drive.mp4")).nextFrame()!.image
        #expect(abs(Int(frame0[10, 20].0) - 128) < 10 && abs(Int(frame0[10, 20].2) - 128) < 10, "old region kept")
        try writeMaps(s, video: "drive", frames: 0..<10, width: 96, height: 64)
        let plain = try CLI.run(["anonymize", s.file("in/drive.mp4"), "-o", s.file("plain.mp4"), "--masks", s.file("masks/drive"),
                                 "--detect", "none", "--method", "graymask", "--quiet"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(try timestamps(s.file("out/drive.mp4")) == timestamps(s.file("plain.mp4")))
        try expectCodecNoise(s.file("out/drive.mp4"), single: s.file("plain.mp4"), source: s.file("in/drive.mp4"))
    }

    @Test func startAndEndProcessATimeRange() throws {
        let s = try Scratch()
        try makeFolder(s)
        let r = try CLI.run(["anonymize", s.file("in/drive.mp4"), "-o", s.file("part.mp4"), "--masks", s.file("masks/drive"),
                             "--detect", "none", "--method", "graymask", "--start", "1.05", "--end", "00:00:02.000",
                             "--audio", "keep", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let t = try videoTiming(s.file("part.mp4"))
        #expect(t.pts.count == 9, "frames 11-19: \(t.pts)")
        #expect(t.pts.first?.hasPrefix("0") == true)
        #expect(try codecTypes(s.file("part.mp4")) == ["video", "audio"])
        // Frame 11's regions come from label map 11 (indices count in the whole video): flat gray at x 8..27.
        let f = try VideoReader(path: s.file("part.mp4")).nextFrame()!
        let inside = f.image[15, 20]
        #expect(abs(Int(inside.0) - 128) < 10 && abs(Int(inside.1) - 128) < 10)
    }

    @Test func clusterManifestsRunThroughSviaParsing() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let job = try String(contentsOf: root.appendingPathComponent("Scripts/cluster/svia-indexed-job.yaml"), encoding: .utf8)
        let slurm = try ["svia-array.sbatch", "svia-merge.sbatch", "submit-slurm.sh"].map {
            try String(contentsOf: root.appendingPathComponent("Scripts/cluster/" + $0), encoding: .utf8)
        }.joined(separator: "\n")
        #expect(job.contains("completionMode: Indexed"))
        #expect(job.contains("HF_HUB_OFFLINE") && slurm.contains("HF_HUB_OFFLINE"))
        #expect(slurm.contains("--array=0-$((SHARDS - 1))") && slurm.contains("--dependency=afterok"))
        // Kubernetes: prepare, shards and merge Jobs; the shard Job has as many completions as the plan has shards.
        let docs = job.components(separatedBy: "\n---")
        #expect(docs.filter { $0.contains("kind: Job") }.count == 3)
        let shardsDoc = docs.first { $0.contains("completionMode: Indexed") } ?? ""
        #expect(shardsDoc.contains("completions: 4") && job.contains("--shards 4"))
        #expect(shardsDoc.contains("HF_HUB_OFFLINE"))
        var commands: [[String]] = []
        for text in [job, slurm] {
            // Continuation lines joined; every line whose command is svia is a command line to check.
            let joined = text.replacingOccurrences(of: "\\\n", with: " ")
            for line in joined.split(separator: "\n") {
                var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                while let w = words.first, w == "-" || w == "exec" || w == "srun" { words.removeFirst() }
                guard words.first == "svia" else { continue }
                let values = ["SHARDS": "4", "DATA": "/data", "PLAN": "/data/plan.json", "HF_HOME": "/data/hf"]
                let args = words.dropFirst().map { w -> String in
                    var out = w
                    for (k, v) in values { out = out.replacingOccurrences(of: "${\(k)}", with: v).replacingOccurrences(of: "$\(k)", with: v) }
                    return out.trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                }
                commands.append(Array(args))
            }
        }
        #expect(commands.count >= 5, "\(commands)")
        #expect(commands.contains { $0.first == "plan" } && commands.contains { $0.first == "merge" })
        #expect(commands.contains { $0.first == "anonymize" && $0.contains("env") })
        for args in commands where args.first != "models" {
            let r = try CLI.run(args + ["--validate-only"])
            #expect(r.status == 0, "svia \(args.joined(separator: " ")): \(r.stderr)")
        }
    }
}
