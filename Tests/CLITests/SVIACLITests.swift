import Foundation
import MediaIO
import Testing

/// `svia anonymize --method svia` end to end, through the built binary, on the tiny random-weight models laid
/// out as a Hugging Face cache (`TinyHub`). Random weights paint noise, which is what makes "no original pixel
/// inside a region" checkable.
@Suite(.serialized) struct SVIACLITests {
    /// A scratch folder with a tiny hub; the environment points the CLI at it and keeps it offline.
    struct Setup {
        let scratch: Scratch
        let environment: [String: String]

        init(repositories: Set<String>? = nil) throws {
            scratch = try Scratch()
            let hub = try TinyHub.make(at: URL(fileURLWithPath: scratch.file("hub")), repositories: repositories)
            environment = ["HF_HUB_CACHE": hub.path, "HF_HUB_OFFLINE": "1"]
        }

        func run(_ args: [String], binary: URL = CLI.binary) throws -> CLI.Result {
            try CLI.run(["anonymize"] + args, environment: environment, binary: binary)
        }
    }

    /// Small and quick settings for the tiny models (the VAE works in 2x2 cells, TAESD in 8x8).
    static let tiny = ["--work-size", "64x32", "--steps", "2", "--harmonizer-steps", "4", "--strength", "0.5",
                       "--detect", "none", "--quiet"]

    static func rect(_ x: Range<Int>, _ y: Range<Int>) -> (x: Range<Int>, y: Range<Int>) { (x, y) }

    /// Share of the pixels in `area` where `a` and `b` are exactly equal.
    static func equalShare(_ a: RGBImage, _ b: RGBImage, in area: (x: Range<Int>, y: Range<Int>)) -> Double {
        var same = 0
        for y in area.y { for x in area.x where a[x, y] == b[x, y] { same += 1 } }
        return Double(same) / Double(area.x.count * area.y.count)
    }

    static func meanDifference(_ a: RGBImage, _ b: RGBImage, in area: (x: Range<Int>, y: Range<Int>)) -> Double {
        var sum = 0
        for y in area.y {
            for x in area.x {
                let p = a[x, y], q = b[x, y]
                sum += abs(Int(p.0) - Int(q.0)) + abs(Int(p.1) - Int(q.1)) + abs(Int(p.2) - Int(q.2))
            }
        }
        return Double(sum) / Double(3 * area.x.count * area.y.count)
    }

    static func report(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    @Test func stillKeepsSizeAndOutsideAndPaintsEveryPixelInside() throws {
        let t = try Setup()
        let s = t.scratch
        let img = texture(width: 90, height: 50)
        let car = Self.rect(20..<55, 10..<40)
        try StillImage.write(img, to: s.file("in.png"))
        _ = try s.mkdir("masks")
        try StillImage.writeGray(carLabelMap(width: 90, height: 50, car: car), to: s.file("masks/in.png"))
        let r = try t.run([s.file("in.png"), "--masks", s.file("masks"), "-o", s.file("out.png"), "--no-harmonize",
                           "--report", s.file("report.json"), "--export-masks", s.file("used")] + Self.tiny)
        #expect(r.status == 0, "\(r.stderr)")
        let out = try StillImage.read(path: s.file("out.png"))
        #expect(out.width == 90 && out.height == 50)
        // Outside the region: bit-identical (harmonizer off, no feather). Inside: painted, no original pixel.
        for y in 0..<50 {
            for x in 0..<90 where !(car.x.contains(x) && car.y.contains(y)) {
                #expect(out[x, y] == img[x, y], "pixel \(x),\(y) outside the region changed")
            }
        }
        #expect(Self.equalShare(out, img, in: car) < 0.01)
        // The exported mask is the region.
        let used = try StillImage.readGray(path: s.file("used/in.png"))
        #expect(used.width == 90 && used[30, 20] == 255 && used[5, 5] == 0)
        // The report: default preset, one vehicle pass of 2 guided steps + 2-step reuse-free still = 4 evaluations.
        let files = try Self.report(s.file("report.json"))["files"] as! [[String: Any]]
        let svia = files[0]["svia"] as! [String: Any]
        #expect(svia["preset"] as? String == "default")
        #expect(svia["unetEvaluations"] as? Int == 4)
        #expect((svia["seeds"] as? [String: Any])?["inpaint"] as? Int == 19_260_817)
        #expect((svia["stageSeconds"] as? [String: Double])?["inpaint"] != nil)
        #expect((files[0]["categoryCoverage"] as? [String: Double])?["vehicle"] != nil)
    }

    @Test func harmonizerFrameScopeAndPaperPasses() throws {
        let t = try Setup()
        let s = t.scratch
        let img = texture(width: 64, height: 32)
        try StillImage.write(img, to: s.file("in.png"))
        _ = try s.mkdir("masks")
        try StillImage.writeGray(carLabelMap(width: 64, height: 32, car: (8..<30, 4..<20)), to: s.file("masks/in.png"))
        let r = try t.run([s.file("in.png"), "--masks", s.file("masks"), "-o", s.file("out.png"), "--preset", "paper",
                           "--report", s.file("report.json")] + Self.tiny)
        #expect(r.status == 0, "\(r.stderr)")
        let out = try StillImage.read(path: s.file("out.png"))
        #expect(out.width == 64 && out.height == 32)
        // The paper runs a pass per category even when it is empty: 5 categories x 2 guided steps x 2, plus
        // the harmonizer: 4-step schedule at strength 0.5 = 2 guided steps x 2.
        let files = try Self.report(s.file("report.json"))["files"] as! [[String: Any]]
        let svia = files[0]["svia"] as! [String: Any]
        #expect(svia["unetEvaluations"] as? Int == 5 * 2 * 2 + 2 * 2)
        // The harmonizer's scope is the whole frame: pixels outside the region change too.
        #expect(Self.equalShare(out, img, in: (40..<64, 20..<32)) < 0.5)
    }

    @Test func classesOfOneCategoryArePaintedWithTheirOwnPrompts() throws {
        let t = try Setup()
        let s = t.scratch
        let img = texture(width: 64, height: 32)
        try StillImage.write(img, to: s.file("in.png"))
        _ = try s.mkdir("masks")
        // A car (trainId 13) beside a bus (15): one vehicle region, two prompts.
        var map = carLabelMap(width: 64, height: 32, car: (4..<20, 4..<20))
        for y in 4..<20 { for x in 30..<50 { map[x, y] = 15 } }
        try StillImage.writeGray(map, to: s.file("masks/in.png"))
        let r = try t.run([s.file("in.png"), "--masks", s.file("masks"), "-o", s.file("out.png"), "--no-harmonize",
                           "--report", s.file("report.json")] + Self.tiny)
        #expect(r.status == 0, "\(r.stderr)")
        let svia = (try Self.report(s.file("report.json"))["files"] as! [[String: Any]])[0]["svia"] as! [String: Any]
        #expect(svia["inpaintPasses"] as? [String: Int] == ["vehicle": 1, "class:bus": 1])
        // Two passes of 2 guided steps.
        #expect(svia["unetEvaluations"] as? Int == 2 * 2 * 2)
        let out = try StillImage.read(path: s.file("out.png"))
        #expect(Self.equalShare(out, img, in: (30..<50, 4..<20)) < 0.01 && Self.equalShare(out, img, in: (4..<20, 4..<20)) < 0.01)
        #expect(Self.equalShare(out, img, in: (54..<64, 24..<32)) == 1)
    }

    @Test func lowMemoryGivesTheSamePicture() throws {
        let t = try Setup()
        let s = t.scratch
        try StillImage.write(texture(width: 64, height: 32), to: s.file("in.png"))
        _ = try s.mkdir("masks")
        try StillImage.writeGray(carLabelMap(width: 64, height: 32, car: (8..<40, 4..<24)), to: s.file("masks/in.png"))
        for extra in [[], ["--low-memory"]] {
            let r = try t.run([s.file("in.png"), "--masks", s.file("masks"), "-o", s.file("out\(extra.count).png")] + Self.tiny + extra)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let a = try StillImage.read(path: s.file("out0.png")), b = try StillImage.read(path: s.file("out1.png"))
        // Winograd and direct convolution round differently; the pictures agree to within a level or two.
        #expect(Self.meanDifference(a, b, in: (0..<64, 0..<32)) < 1)
    }

    @Test func folderOfStillsIsMirrored() throws {
        let t = try Setup()
        let s = t.scratch
        _ = try s.mkdir("in/sub")
        _ = try s.mkdir("masks/sub")
        try StillImage.write(texture(width: 64, height: 48), to: s.file("in/a.png"))
        try StillImage.write(texture(width: 40, height: 30), to: s.file("in/sub/b.jpg"))
        try StillImage.writeGray(carLabelMap(width: 64, height: 48, car: (0..<10, 0..<10)), to: s.file("masks/a.png"))
        try StillImage.writeGray(carLabelMap(width: 40, height: 30, car: (0..<10, 0..<10)), to: s.file("masks/sub/b.png"))
        let r = try t.run([s.file("in"), "--masks", s.file("masks"), "-o", s.file("out")] + Self.tiny)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.tree("out") == ["a.png", "sub/b.jpg"])
        let b = try StillImage.read(path: s.file("out/sub/b.jpg"))
        #expect(b.width == 40 && b.height == 30)
    }

    /// A clip of `frames` frames (lossless H.264 so identical inputs decode identically), and label maps.
    static func makeClip(_ s: Scratch, frames: Int, identical: Bool, maps: (Int) -> GrayImage) throws {
        var input = ["-f", "lavfi", "-i", "testsrc2=size=64x32:rate=10"]
        if identical {
            try StillImage.write(texture(width: 64, height: 32), to: s.file("still.png"))
            input = ["-loop", "1", "-framerate", "10", "-i", s.file("still.png")]
        }
        try tool("ffmpeg", ["-v", "error", "-y"] + input + ["-frames:v", "\(frames)",
                            "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", s.file("in.mp4")])
        _ = try s.mkdir("masks/in")
        for i in 0..<frames { try StillImage.writeGray(maps(i), to: s.file(String(format: "masks/in/%06d.png", i))) }
    }

    static func frames(_ path: String) throws -> [RGBImage] {
        let reader = try VideoReader(path: path)
        var out: [RGBImage] = []
        while let f = try reader.nextFrame() { out.append(f.image) }
        return out
    }

    @Test func videoKeepsFrameCountAndTiming() throws {
        let t = try Setup()
        let s = t.scratch
        let car = Self.rect(8..<40, 4..<24)
        try Self.makeClip(s, frames: 6, identical: false) { _ in carLabelMap(width: 64, height: 32, car: car) }
        let r = try t.run([s.file("in.mp4"), "--masks", s.file("masks"), "-o", s.file("out.mp4"), "--no-harmonize",
                           "--crf", "0", "--report", s.file("report.json")] + Self.tiny)
        #expect(r.status == 0, "\(r.stderr)")
        let a = try videoTiming(s.file("in.mp4")), b = try videoTiming(s.file("out.mp4"))
        #expect(a.pts == b.pts && a.pts.count == 6)
        #expect(a.duration == b.duration)
        let input = try Self.frames(s.file("in.mp4")), output = try Self.frames(s.file("out.mp4"))
        #expect(output.count == 6)
        for (i, o) in zip(input, output) {
            #expect(Self.equalShare(o, i, in: car) < 0.05, "frame kept original pixels inside the region")
            #expect(Self.meanDifference(o, i, in: (44..<64, 0..<32)) < 6, "outside the region changed")
        }
        let files = try Self.report(s.file("report.json"))["files"] as! [[String: Any]]
        let svia = files[0]["svia"] as! [String: Any]
        #expect(svia["keyframes"] as? Int ?? 0 >= 1)
        #expect((svia["keyframes"] as? Int ?? 0) + (svia["reusedFrames"] as? Int ?? 0) == 6)
    }

    @Test func reuseKeepsIdenticalFramesIdenticalAndMasksRemembered() throws {
        let t = try Setup()
        let s = t.scratch
        let car = Self.rect(8..<40, 4..<24)
        // The segmenter "misses" the car in frame 3.
        try Self.makeClip(s, frames: 6, identical: true) { i in
            i == 3 ? GrayImage(width: 64, height: 32, fill: 10) : carLabelMap(width: 64, height: 32, car: car)
        }
        func paint(_ extra: [String], _ name: String) throws -> [RGBImage] {
            let r = try t.run([s.file("in.mp4"), "--masks", s.file("masks"), "-o", s.file(name), "--no-harmonize",
                               "--crf", "0", "--export-masks", s.file(name + "-masks")] + Self.tiny + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return try Self.frames(s.file(name))
        }
        let input = try Self.frames(s.file("in.mp4"))
        let reused = try paint([], "reuse.mp4")
        let fresh = try paint(["--no-reuse"], "fresh.mp4")
        #expect(reused.count == 6 && fresh.count == 6)
        let changesWith = (1..<6).map { Self.meanDifference(reused[$0], reused[$0 - 1], in: car) }
        let changesWithout = (1..<6).map { Self.meanDifference(fresh[$0], fresh[$0 - 1], in: car) }
        #expect(changesWith.max()! < 1, "reuse on: consecutive frames differ by \(changesWith)")
        #expect(changesWithout.min()! > 5, "reuse off: consecutive frames differ by only \(changesWithout)")
        // Frame 3's missing region is still covered: painted, and in the exported mask.
        #expect(Self.equalShare(reused[3], input[3], in: car) < 0.05)
        let mask3 = try StillImage.readGray(path: s.file("reuse.mp4-masks/in/000003.png"))
        #expect(mask3[20, 10] == 255)
    }

    /// paper paints every frame as the reference paints a still: full passes on every frame, no reuse pass, the
    /// same seeds, so identical frames give identical pictures; its UNet work is the still's, once per frame.
    @Test func paperPaintsEveryFrameAsAStill() throws {
        let t = try Setup()
        let s = t.scratch
        let car = Self.rect(8..<40, 4..<24)
        try Self.makeClip(s, frames: 2, identical: true) { _ in carLabelMap(width: 64, height: 32, car: car) }
        let r = try t.run([s.file("in.mp4"), "--masks", s.file("masks"), "-o", s.file("out.mp4"), "--preset", "paper",
                           "--crf", "0", "--report", s.file("report.json")] + Self.tiny)
        #expect(r.status == 0, "\(r.stderr)")
        let out = try Self.frames(s.file("out.mp4")), input = try Self.frames(s.file("in.mp4"))
        #expect(out.count == 2)
        #expect(Self.meanDifference(out[1], out[0], in: (0..<64, 0..<32)) < 0.5)
        #expect(Self.equalShare(out[1], input[1], in: car) < 0.05)
        let svia = (try Self.report(s.file("report.json"))["files"] as! [[String: Any]])[0]["svia"] as! [String: Any]
        #expect(svia["reusedFrames"] as? Int == 0 && svia["keyframes"] as? Int == 2)
        // Per frame: 5 categories x 2 guided steps x 2 + the harmonizer's 2 guided steps x 2.
        #expect(svia["unetEvaluations"] as? Int == 2 * (5 * 2 * 2 + 2 * 2))
    }

    @Test func keyframesAreWrittenAsStills() throws {
        let t = try Setup()
        let s = t.scratch
        try Self.makeClip(s, frames: 10, identical: false) { _ in carLabelMap(width: 64, height: 32, car: (0..<16, 0..<16)) }
        let r = try t.run([s.file("in.mp4"), "--keyframes", "--every", "0.5", "--masks", s.file("masks"),
                           "-o", s.file("stills"), "--no-harmonize"] + Self.tiny)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.tree("stills") == ["in_00-00-00.000.png", "in_00-00-00.500.png"])
        let still = try StillImage.read(path: s.file("stills/in_00-00-00.500.png"))
        #expect(still.width == 64 && still.height == 32)
    }

    @Test func fastPresetRunsOnTurboAndTinyAutoencoder() throws {
        let t = try Setup()
        let s = t.scratch
        let img = texture(width: 64, height: 32)
        let car = Self.rect(16..<48, 8..<24)
        try StillImage.write(img, to: s.file("in.png"))
        _ = try s.mkdir("masks")
        try StillImage.writeGray(carLabelMap(width: 64, height: 32, car: car), to: s.file("masks/in.png"))
        let r = try t.run([s.file("in.png"), "--masks", s.file("masks"), "-o", s.file("out.png"), "--preset", "fast",
                           "--work-size", "64x32", "--detect", "none", "--no-harmonize", "--quiet",
                           "--report", s.file("report.json")])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try StillImage.read(path: s.file("out.png"))
        #expect(Self.equalShare(out, img, in: car) < 0.01)
        #expect(Self.equalShare(out, img, in: (0..<64, 26..<32)) == 1)
        let svia = (try Self.report(s.file("report.json"))["files"] as! [[String: Any]])[0]["svia"] as! [String: Any]
        #expect(svia["unetEvaluations"] as? Int == 1)
    }

    @Test func segmenterFindsTheRegionsWithoutLabelMaps() throws {
        let t = try Setup()
        let s = t.scratch
        try StillImage.write(texture(width: 64, height: 32), to: s.file("in.png"))
        let r = try t.run([s.file("in.png"), "-o", s.file("out.png"), "--report", s.file("report.json")] + Self.tiny)
        #expect(r.status == 0, "\(r.stderr)")
        let files = try Self.report(s.file("report.json"))["files"] as! [[String: Any]]
        #expect(files[0]["status"] as? String == "done")
        #expect((files[0]["svia"] as? [String: Any])?["stageSeconds"] as? [String: Double] != nil)
    }

    @Test func missingModelsStopBeforeAnyWorkWithTheFetchCommand() throws {
        let t = try Setup(repositories: [])
        let s = t.scratch
        try StillImage.write(texture(width: 64, height: 32), to: s.file("in.png"))
        let r = try t.run([s.file("in.png"), "-o", s.file("out.png"), "--quiet"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("svia models fetch"))
        #expect(r.stderr.contains("stabilityai/stable-diffusion-2-inpainting"))
        #expect(r.stderr.contains("HF_HUB_CACHE"))
        #expect(!FileManager.default.fileExists(atPath: s.file("out.png")))
    }
}
