import Foundation
import Testing

/// `svia models` against an empty or hand-made Hugging Face cache; no network (offline mode where a fetch runs).
@Suite struct ModelsCLITests {
    let commit = "89abcdef0123456789abcdef0123456789abcdef"

    /// A cache holding the tiny model `tiny-org/tiny` at `commit`, laid out as huggingface_hub does, and a catalog
    /// file naming it. Returns the environment to run svia with.
    func tinyCache(_ scratch: Scratch) throws -> (env: [String: String], snapshot: String, blob: String) {
        let hub = try scratch.mkdir("hub")
        let repo = hub + "/models--tiny-org--tiny"
        let files = ["config.json": Data(#"{"model_type": "segformer"}"#.utf8),
                     "model.safetensors": Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) })]
        let fm = FileManager.default
        try fm.createDirectory(atPath: repo + "/blobs", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: repo + "/snapshots/\(commit)", withIntermediateDirectories: true)
        var weightsBlob = ""
        for (name, data) in files {
            let tmp = scratch.file("content-" + name)
            try data.write(to: URL(fileURLWithPath: tmp))
            let sha = String(try tool("sha256sum", [tmp]).prefix(64))
            try fm.moveItem(atPath: tmp, toPath: repo + "/blobs/" + sha)
            try fm.createSymbolicLink(atPath: repo + "/snapshots/\(commit)/" + name, withDestinationPath: "../../blobs/" + sha)
            if name == "model.safetensors" { weightsBlob = repo + "/blobs/" + sha }
        }
        let catalog = """
            {"version": 1, "presets": {},
             "models": [
              {"id": "tiny", "repository": "tiny-org/tiny", "revision": "\(commit)", "role": "segmenter",
               "files": ["config.json", "model.safetensors"], "sizeBytes": 5100,
               "licence": {"name": "NVIDIA Source Code License for SegFormer", "url": "https://example.invalid/l"},
               "commercialUse": false, "note": null},
              {"id": "absent", "repository": "tiny-org/absent", "revision": "main", "role": "inpainter",
               "files": ["model_index.json"], "sizeBytes": null,
               "licence": {"name": "MIT", "url": "https://example.invalid/mit"}, "commercialUse": true, "note": null}]}
            """
        try catalog.write(toFile: scratch.file("catalog.json"), atomically: true, encoding: .utf8)
        let env = ["HF_HUB_CACHE": hub, "SVIA_MODEL_CATALOG": scratch.file("catalog.json"), "HF_HUB_OFFLINE": "1",
                   "HF_ENDPOINT": "http://127.0.0.1:9"]
        return (env, repo + "/snapshots/" + commit, weightsBlob)
    }

    @Test func listShowsTheBuiltInCatalogAndLicenceWarnings() throws {
        let scratch = try Scratch()
        let r = try CLI.run(["models", "list"], environment: ["HF_HUB_CACHE": try scratch.mkdir("empty")])
        #expect(r.status == 0)
        #expect(r.stdout.contains("sd2-inpainting  [inpainter]  stabilityai/stable-diffusion-2-inpainting"))
        #expect(r.stdout.contains("not in the cache"))
        // sd-turbo and every SegFormer carry the non-commercial warning; taesd does not.
        let blocks = r.stdout.components(separatedBy: "\n\n")
        let turbo = blocks.first { $0.hasPrefix("sd-turbo ") } ?? ""
        #expect(turbo.contains("WARNING: not for commercial use"))
        #expect(turbo.contains("Non-Commercial"))
        #expect(blocks.first { $0.hasPrefix("segformer-b0 ") }?.contains("WARNING: not for commercial use") == true)
        #expect(blocks.first { $0.hasPrefix("taesd ") }?.contains("WARNING") == false)
        #expect(r.stdout.contains("paper: sd2-inpainting + sd2 + segformer-b5 (or segformer-b0"))
    }

    @Test func listJSONReportsPresence() throws {
        let scratch = try Scratch()
        let (env, snapshot, _) = try tinyCache(scratch)
        let r = try CLI.run(["models", "list", "--json"], environment: env)
        #expect(r.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let models = object?["models"] as? [[String: Any]] ?? []
        #expect(models.count == 2)
        #expect(models.first?["id"] as? String == "tiny")
        #expect(models.first?["present"] as? Bool == true)
        #expect(models.first?["commercialUse"] as? Bool == false)
        #expect(models.first?["path"] as? String == snapshot)
        #expect(models.last?["present"] as? Bool == false)
    }

    @Test func pathPrintsTheSnapshotOrFails() throws {
        let scratch = try Scratch()
        let (env, snapshot, _) = try tinyCache(scratch)
        let ok = try CLI.run(["models", "path", "tiny"], environment: env)
        #expect(ok.status == 0)
        #expect(ok.stdout == snapshot + "\n")

        let missing = try CLI.run(["models", "path", "absent"], environment: env)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("svia models fetch absent"))

        let unknown = try CLI.run(["models", "path", "nope"], environment: env)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no model \"nope\""))
    }

    @Test func verifyPassesThenNamesATamperedFile() throws {
        let scratch = try Scratch()
        let (env, _, blob) = try tinyCache(scratch)
        let good = try CLI.run(["models", "verify"], environment: env)
        #expect(good.status == 0)
        #expect(good.stdout.contains("tiny: 2/2 files verified"))

        var bytes = try Data(contentsOf: URL(fileURLWithPath: blob))
        bytes[100] ^= 0x55
        try bytes.write(to: URL(fileURLWithPath: blob))
        let bad = try CLI.run(["models", "verify", "tiny"], environment: env)
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("MISMATCH: model.safetensors"))
    }

    @Test func offlineFetchSaysWhatIsMissing() throws {
        let scratch = try Scratch()
        let (env, _, _) = try tinyCache(scratch)
        let cached = try CLI.run(["models", "fetch", "--quiet", "tiny"], environment: env)
        #expect(cached.status == 0)

        let r = try CLI.run(["models", "fetch", "absent"], environment: env)
        #expect(r.status == 1)
        #expect(r.stderr.contains("HF_HUB_OFFLINE"))
        #expect(r.stderr.contains("model_index.json"))

        let none = try CLI.run(["models", "fetch"], environment: env)
        #expect(none.status == 2)
    }
}
