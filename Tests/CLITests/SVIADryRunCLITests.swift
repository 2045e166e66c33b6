import Foundation
import MediaIO
import Testing

/// `svia anonymize --dry-run`: the plan of each input, with no model in the Hugging Face cache.
@Suite struct SVIADryRunCLITests {
    /// A scratch folder whose Hugging Face cache is empty (and offline): nothing could be loaded.
    struct Setup {
        let scratch: Scratch
        let environment: [String: String]

        init() throws {
            scratch = try Scratch()
            _ = try scratch.mkdir("empty-hub")
            environment = ["HF_HUB_CACHE": scratch.file("empty-hub"), "HF_HUB_OFFLINE": "1"]
        }

        func run(_ args: [String]) throws -> CLI.Result {
            try CLI.run(["anonymize"] + args, environment: environment)
        }

        /// A `width`×`height` still with a car label map; returns the arguments that name them.
        func still(width: Int, height: Int) throws -> [String] {
            try StillImage.write(texture(width: width, height: height), to: scratch.file("in.png"))
            _ = try? scratch.mkdir("masks")
            try StillImage.writeGray(carLabelMap(width: width, height: height, car: (0..<10, 0..<10)), to: scratch.file("masks/in.png"))
            return [scratch.file("in.png"), "--masks", scratch.file("masks"), "-o", scratch.file("out.png")]
        }
    }

    static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    /// Every value of `expected` is in `actual` at the same place (objects: `expected`'s keys only; arrays: the same
    /// length, element by element); returns where they differ.
    static func differences(_ expected: Any, _ actual: Any?, at path: String = "plan") -> [String] {
        switch expected {
        case let e as [String: Any]:
            guard let a = actual as? [String: Any] else { return ["\(path): missing or not an object"] }
            return e.keys.sorted().flatMap { differences(e[$0]!, a[$0], at: "\(path).\($0)") }
        case let e as [Any]:
            guard let a = actual as? [Any], a.count == e.count else { return ["\(path): \(actual ?? "missing") is not \(e.count) items"] }
            return zip(e, a).enumerated().flatMap { differences($1.0, $1.1, at: "\(path)[\($0)]") }
        case let e as NSNumber:
            guard let a = actual as? NSNumber, abs(a.doubleValue - e.doubleValue) <= 1e-6 * max(1, abs(e.doubleValue)) else {
                return ["\(path): \(actual ?? "missing") != \(e)"]
            }
            return []
        case let e as String:
            return actual as? String == e ? [] : ["\(path): \(actual ?? "missing") != \(e)"]
        default:
            return ["\(path): unexpected golden value \(expected)"]
        }
    }

    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Golden/svia-paper-plan.json")

    @Test func paperDryRunPlanIsTheReference() throws {
        let t = try Setup()
        let s = t.scratch
        let r = try t.run(try t.still(width: 97, height: 61) + ["--preset", "paper", "--dry-run", "--report", s.file("plan.json")])
        #expect(r.status == 0, "\(r.stderr)")
        // Nothing painted: only the plan.
        #expect(!FileManager.default.fileExists(atPath: s.file("out.png")))
        let report = try Self.json(s.file("plan.json"))
        #expect(report["dryRun"] as? Bool == true && report["preset"] as? String == "paper")
        let file = try #require((report["files"] as? [[String: Any]])?.first)
        let plan = file["svia"] as? [String: Any]
        let golden = try #require(Self.json(Self.golden.path)["plan"])
        let diffs = Self.differences(golden, plan)
        #expect(diffs.isEmpty, "\(diffs.joined(separator: "\n"))")
        // Sizes: the source's, and the reference's stretch to 1024x512.
        #expect((plan?["sourceSize"] as? [String: Int]) == ["width": 97, "height": 61])
        #expect(file["detectors"] as? [String] == [])
        #expect(r.stdout.contains("UNet evaluations per picture: 520"))
        #expect(r.stdout.contains("+ masterpiece, realistic, cityscapes, street, human, real"))
    }

    @Test func defaultPlanShowsAPromptPerClassAndKeepsTheAspectRatio() throws {
        let t = try Setup()
        let s = t.scratch
        let r = try t.run(try t.still(width: 160, height: 90) + ["--dry-run", "--detect", "none", "--report", s.file("plan.json")])
        #expect(r.status == 0, "\(r.stderr)")
        let file = try #require((Self.json(s.file("plan.json"))["files"] as? [[String: Any]])?.first)
        let plan = try #require(file["svia"] as? [String: Any])
        #expect((plan["workingSize"] as? [String: Int]) == ["width": 1024, "height": 576])
        let passes = try #require((plan["inpaint"] as? [String: Any])?["passes"] as? [[String: Any]])
        func positive(_ cls: String) -> String? {
            passes.first { ($0["classes"] as? [String])?.contains(cls) == true }?["positive"] as? String
        }
        for (cls, word) in [("car", "car"), ("truck", "truck"), ("bus", "bus"), ("train", "train"), ("motorcycle", "motorcycle"),
                            ("bicycle", "bicycle"), ("rider", "cyclist"), ("person", "person")] {
            #expect(positive(cls) == "masterpiece, realistic, cityscapes, street, \(word), \(cls == "rider" || cls == "person" ? "real" : "no_humans")", "\(cls)")
            #expect(r.stdout.contains("+ masterpiece, realistic, cityscapes, street, \(word), "), "\(cls)")
        }
        #expect(passes.allSatisfy { $0["runsWhenEmpty"] as? Bool == false })
        #expect(plan["unetEvaluationsExact"] as? Bool == false)

        // An explicit working size is used as given; a prompts file giving two classes one prompt gives them one pass.
        try #"{"classes": {"bus": {"positive": "a large vehicle", "negative": "x"}, "truck": {"positive": "a large vehicle", "negative": "x"}}}"#
            .write(toFile: s.file("prompts.json"), atomically: true, encoding: .utf8)
        let r2 = try t.run(try t.still(width: 160, height: 90) + ["--dry-run", "--detect", "none", "--work-size", "512x512",
                                                                  "--prompts", s.file("prompts.json"), "--report", s.file("plan2.json")])
        #expect(r2.status == 0, "\(r2.stderr)")
        let plan2 = try #require((Self.json(s.file("plan2.json"))["files"] as? [[String: Any]])?.first?["svia"] as? [String: Any])
        #expect((plan2["workingSize"] as? [String: Int]) == ["width": 512, "height": 512])
        let passes2 = try #require((plan2["inpaint"] as? [String: Any])?["passes"] as? [[String: Any]])
        #expect(passes2.contains { $0["classes"] as? [String] == ["truck", "bus"] && $0["positive"] as? String == "a large vehicle" })
        #expect(passes2.count == passes.count - 1)
    }

    @Test func paperVideoPaintsEveryFrameAsAStillUnlessAskedToReuse() throws {
        let t = try Setup()
        let s = t.scratch
        try SVIACLITests.makeClip(s, frames: 2, identical: false) { _ in carLabelMap(width: 64, height: 32, car: (0..<8, 0..<8)) }
        let base = [s.file("in.mp4"), "--masks", s.file("masks"), "-o", s.file("out.mp4"), "--preset", "paper", "--dry-run"]
        for (extra, reuse) in [([String](), false), (["--reuse"], true)] {
            let r = try t.run(base + extra + ["--report", s.file("plan.json")])
            #expect(r.status == 0, "\(r.stderr)")
            let plan = try #require((Self.json(s.file("plan.json"))["files"] as? [[String: Any]])?.first?["svia"] as? [String: Any])
            let video = try #require(plan["video"] as? [String: Any])
            #expect(video["reuse"] as? Bool == reuse)
            if !reuse {
                #expect(video["seedPerFrame"] as? String == "seed" && video["maskMemory"] as? Int == 0)
            }
            #expect((plan["sourceSize"] as? [String: Int]) == ["width": 64, "height": 32])
        }
        #expect(!FileManager.default.fileExists(atPath: s.file("out.mp4")))
    }
}
