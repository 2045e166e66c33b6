import Foundation
import HubTestSupport
import MediaIO
import Networks
import Testing

/// `svia models fetch` against a loopback hub in the state of the real one since November 2025, serving the tiny
/// random-weight models (`TinyHub`): the stabilityai SD 2 repositories answer 404 and the sd2-community copies serve
/// the files; the SegFormer repository's main holds only pytorch_model.bin and refs/pr/4 holds model.safetensors.
/// A test catalog (SVIA_MODEL_CATALOG) is the built-in one with the tiny files and their hashes pinned.
@Suite(.serialized) struct ModelsFetchCLITests {
    static let segformerCommit = "a8df754" + String(repeating: "0", count: 33)

    struct Hub {
        let server: TinyHubServer
        let scratch: Scratch
        let environment: [String: String]
    }

    /// The files TinyHub has for `repository`, as hub files (safetensors are LFS files).
    static func files(_ repository: String) throws -> [String: TinyHubServer.RepoFile] {
        var out: [String: TinyHubServer.RepoFile] = [:]
        for f in try TinyHub.files(of: repository) {
            out[f.path] = .init(content: try Data(contentsOf: f.source), lfs: f.path.hasSuffix(".safetensors"))
        }
        return out
    }

    static func hub(slowCDN: Bool = false) throws -> Hub {
        let catalog = ModelCatalog.builtIn
        func source(_ id: String, _ repo: String) -> ModelSource {
            (try? catalog.entry(id))?.sources.first { $0.repository == repo } ?? ModelSource(repository: repo, revision: "main")
        }
        let inpaintMirror = source("sd2-inpainting", "sd2-community/stable-diffusion-2-inpainting")
        let segformer = "nvidia/segformer-b0-finetuned-cityscapes-1024-1024"
        let segFiles = try files(TinyHub.segformer)
        let server = try TinyHubServer(repositories: [
            inpaintMirror.repository: ["main": .init(commit: inpaintMirror.revision, files: try files(TinyHub.inpainting))],
            "sd2-community/stable-diffusion-2": ["main": .init(commit: String(repeating: "5", count: 40), files: try files(TinyHub.sd2))],
            TinyHub.sdTurbo: ["main": .init(commit: source("sd-turbo", TinyHub.sdTurbo).revision, files: try files(TinyHub.sdTurbo))],
            TinyHub.taesd: ["main": .init(commit: source("taesd", TinyHub.taesd).revision, files: try files(TinyHub.taesd))],
            segformer: [
                "main": .init(commit: String(repeating: "7", count: 40), files: [
                    "config.json": segFiles["config.json"]!, "pytorch_model.bin": .init(content: Data(repeating: 0, count: 64), lfs: true)]),
                "refs/pr/4": .init(commit: segformerCommit, files: segFiles),
            ],
        ])
        if slowCDN {
            server.ignoreRange(true)
            server.slowCDN(microsecondsPerChunk: 5_000)
        }
        // The built-in catalog with each model's files replaced by the tiny ones, every safetensors pinned.
        var models: [ModelEntry] = []
        for var m in catalog.models {
            let tinyRepo: String? = switch m.id {
            case "sd2-inpainting": TinyHub.inpainting
            case "sd2": TinyHub.sd2
            case "sd-turbo": TinyHub.sdTurbo
            case "taesd": TinyHub.taesd
            case "segformer-b0": TinyHub.segformer
            default: nil
            }
            if let tinyRepo {
                let tiny = try files(tinyRepo)
                m.files = tiny.keys.sorted()
                m.pins = [:]
                for (path, f) in tiny where f.lfs { m.pins[path] = FilePin(sha256: f.sha256, size: Int64(f.content.count)) }
                m.sizeBytes = Int64(tiny.values.map(\.content.count).reduce(0, +))
            }
            models.append(m)
        }
        let scratch = try Scratch()
        let data = try JSONEncoder().encode(ModelCatalog(version: catalog.version, models: models, presets: catalog.presets))
        try data.write(to: URL(fileURLWithPath: scratch.file("catalog.json")))
        let env = ["HF_HUB_CACHE": try scratch.mkdir("hub"), "HF_HOME": try scratch.mkdir("hf-home"), "HF_TOKEN": "",
                   "HF_ENDPOINT": server.endpoint, "SVIA_MODEL_CATALOG": scratch.file("catalog.json"), "HF_HUB_OFFLINE": ""]
        return Hub(server: server, scratch: scratch, environment: env)
    }

    @Test func defaultPresetFromAnEmptyCacheThenAnonymize() throws {
        let h = try Self.hub()
        defer { h.server.stop() }
        let fetch = try CLI.run(["models", "fetch", "--preset", "default", "--quiet"], environment: h.environment)
        #expect(fetch.status == 0, "\(fetch.stderr)")
        // Sizes and licences come first; the segmenter's licence is named with the permissive path.
        #expect(fetch.stderr.contains("preset default:"))
        #expect(fetch.stderr.contains("sd2-inpainting [inpainter]: sd2-community/stable-diffusion-2-inpainting"))
        #expect(fetch.stderr.contains("CreativeML Open RAIL++-M"))
        #expect(fetch.stderr.contains("segformer-b0 [segmenter]"))
        #expect(fetch.stderr.contains("the preset prefers segformer-b5"))
        #expect(fetch.stderr.contains("NOT FOR COMMERCIAL USE: segformer-b0"))
        #expect(fetch.stderr.contains("--masks DIR"))
        let planAt = fetch.stderr.range(of: "preset default:")!.lowerBound
        let firstPathAt = fetch.stderr.range(of: "/snapshots/")?.lowerBound
        #expect(firstPathAt == nil || planAt < firstPathAt!)
        // The withdrawn originals were asked and answered 404; nothing of them is in the cache.
        let heads = h.server.requests(method: "HEAD")
        #expect(heads.contains { $0.path.hasPrefix("/stabilityai/stable-diffusion-2-inpainting/") })
        #expect(heads.contains { $0.path.hasPrefix("/stabilityai/stable-diffusion-2/") })
        #expect(!heads.contains { $0.path.contains("segformer") && $0.path.contains("/resolve/main/") })
        let hub = h.environment["HF_HUB_CACHE"]!
        #expect(!FileManager.default.fileExists(atPath: hub + "/models--stabilityai--stable-diffusion-2-inpainting"))
        #expect(FileManager.default.fileExists(atPath: hub + "/models--nvidia--segformer-b0-finetuned-cityscapes-1024-1024/refs/refs/pr/4"))

        let verify = try CLI.run(["models", "verify"], environment: h.environment)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("sd2-inpainting: 12/12 files verified"))

        // anonymize finds everything offline: the community copies stand in for the originals, the segmenter is
        // the refs/pr/4 snapshot.
        var offline = h.environment
        offline["HF_HUB_OFFLINE"] = "1"
        let s = h.scratch
        try StillImage.write(texture(width: 64, height: 32), to: s.file("in.png"))
        let r = try CLI.run(["anonymize", s.file("in.png"), "-o", s.file("out.png"), "--method", "svia", "--preset", "default",
                             "--report", s.file("report.json")] + SVIACLITests.tiny, environment: offline)
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.file("report.json")))) as? [String: Any]
        let files = report?["files"] as? [[String: Any]] ?? []
        #expect(files.first?["status"] as? String == "done")
    }

    @Test func fastPresetFromAnEmptyCacheThenAnonymize() throws {
        let h = try Self.hub()
        defer { h.server.stop() }
        let fetch = try CLI.run(["models", "fetch", "--preset", "fast", "--quiet"], environment: h.environment)
        #expect(fetch.status == 0, "\(fetch.stderr)")
        #expect(fetch.stderr.contains("NOT FOR COMMERCIAL USE: sd-turbo"))
        #expect(fetch.stderr.contains("CreativeML Open RAIL++-M, which allows commercial use"))
        #expect(fetch.stderr.contains("taesd [tiny-autoencoder]"))
        let again = try CLI.run(["models", "fetch", "--preset", "fast", "--quiet"], environment: h.environment)
        #expect(again.status == 0)
        #expect(again.stderr.contains("everything this preset needs is in the cache"))

        var offline = h.environment
        offline["HF_HUB_OFFLINE"] = "1"
        let s = h.scratch
        try StillImage.write(texture(width: 64, height: 32), to: s.file("in.png"))
        let r = try CLI.run(["anonymize", s.file("in.png"), "-o", s.file("out.png"), "--method", "svia", "--preset", "fast"]
                            + SVIACLITests.tiny, environment: offline)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: s.file("out.png")))
    }

    @Test func missingModelsMessageNamesACommandThatWorks() throws {
        let h = try Self.hub()
        defer { h.server.stop() }
        let s = h.scratch
        try StillImage.write(texture(width: 64, height: 32), to: s.file("in.png"))
        let r = try CLI.run(["anonymize", s.file("in.png"), "-o", s.file("out.png"), "--method", "svia", "--quiet"],
                            environment: h.environment)
        #expect(r.status == 2)
        #expect(r.stderr.contains("svia models fetch --preset default"))
        #expect(r.stderr.contains("huggingface-cli download sd2-community/stable-diffusion-2-inpainting"))
        #expect(!r.stderr.contains("huggingface-cli download stabilityai/stable-diffusion-2-inpainting"))
        #expect(r.stderr.contains("--revision refs/pr/4"))
        // The command it names works.
        let fetch = try CLI.run(["models", "fetch", "--preset", "default", "--quiet"], environment: h.environment)
        #expect(fetch.status == 0, "\(fetch.stderr)")
    }

    /// The paper preset prefers SegFormer-B5 (the catalog's order); with B0 and B5 both in the cache, B5 is used.
    @Test func paperPresetTakesTheCatalogsPreferredSegmenter() throws {
        let s = try Scratch()
        let hub = try TinyHub.make(at: URL(fileURLWithPath: s.file("hub")))
        let b0 = hub.appendingPathComponent("models--nvidia--segformer-b0-finetuned-cityscapes-1024-1024")
        let b5 = hub.appendingPathComponent("models--nvidia--segformer-b5-finetuned-cityscapes-1024-1024")
        try FileManager.default.copyItem(at: b0, to: b5)
        try StillImage.write(texture(width: 64, height: 32), to: s.file("in.png"))
        let env = ["HF_HUB_CACHE": hub.path, "HF_HUB_OFFLINE": "1"]
        let tiny = SVIACLITests.tiny.filter { $0 != "--quiet" } + ["--no-harmonize", "--steps", "1"]
        let r = try CLI.run(["anonymize", s.file("in.png"), "-o", s.file("out.png"), "--method", "svia", "--preset", "paper",
                             "--categories", "vehicle"] + tiny, environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("segmenting with \(b5.path)"), "\(r.stderr)")
    }

    @Test func twoConcurrentFetchesAgainstASlowServerIgnoringRangeLeaveAVerifiedCache() throws {
        let h = try Self.hub(slowCDN: true)
        defer { h.server.stop() }
        let env = h.environment
        let results = Results()
        let group = DispatchGroup()
        for _ in 0..<2 {
            group.enter()
            Thread {
                do { results.add(try CLI.run(["models", "fetch", "--quiet", "sd2-inpainting", "segformer-b0"], environment: env)) } catch {}
                group.leave()
            }.start()
        }
        #expect(group.wait(timeout: .now() + 300) == .success)
        for r in results.all { #expect(r.status == 0, "\(r.stderr)") }
        #expect(results.all.count == 2)
        let verify = try CLI.run(["models", "verify"], environment: env)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("sd2-inpainting: 12/12 files verified"))
        #expect(verify.stdout.contains("segformer-b0: 2/2 files verified"))
        let blobs = try FileManager.default.contentsOfDirectory(
            atPath: env["HF_HUB_CACHE"]! + "/models--sd2-community--stable-diffusion-2-inpainting/blobs")
        #expect(!blobs.contains { $0.hasSuffix(".incomplete") })
    }
}

private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [CLI.Result] = []
    func add(_ r: CLI.Result) { lock.lock(); results.append(r); lock.unlock() }
    var all: [CLI.Result] { lock.lock(); defer { lock.unlock() }; return results }
}
