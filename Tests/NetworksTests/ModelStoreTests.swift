import Foundation
import XCTest
@testable import Networks
import HubTestSupport

final class DigestTests: XCTestCase {
    // FIPS 180-2 appendix examples (also in NIST's "Cryptographic Algorithm Validation" example values).
    let abc = "abc"
    let twoBlocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

    func testSHA256Vectors() {
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data(abc.utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data(twoBlocks.utf8)), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testSHA1Vectors() {
        XCTAssertEqual(SHA1.hex(Data()), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        XCTAssertEqual(SHA1.hex(Data(abc.utf8)), "a9993e364706816aba3e25717850c26c9cd0d89d")
        XCTAssertEqual(SHA1.hex(Data(twoBlocks.utf8)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        XCTAssertEqual(SHA1.hex(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    func testGitBlobHash() {
        // `printf 'hello\n' | git hash-object --stdin`
        XCTAssertEqual(GitBlobHash.hex(Data("hello\n".utf8)), "ce013625030ba8dba906f756967f9e9ca394464a")
    }

    /// A few MB of bytes hashed in uneven pieces must match coreutils on the same file.
    func testLargeInputMatchesCoreutils() throws {
        var bytes = [UInt8](repeating: 0, count: 5 * 1_048_576 + 12_345)
        var x: UInt32 = 0x9E3779B9
        for i in bytes.indices {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            bytes[i] = UInt8(truncatingIfNeeded: x)
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svia-digest-\(UUID().uuidString)")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }

        func coreutils(_ tool: String) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/" + tool)
            p.arguments = [url.path]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return String(text.split(separator: " ").first ?? "")
        }

        var sha256 = SHA256(), sha1 = SHA1()
        var offset = 0, step = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + step)
            bytes[offset..<end].withUnsafeBytes { sha256.update($0); sha1.update($0) }
            offset = end
            step = step * 3 + 7  // crosses block boundaries at every phase
        }
        XCTAssertEqual(hexString(sha256.finalize()), try coreutils("sha256sum"))
        XCTAssertEqual(hexString(sha1.finalize()), try coreutils("sha1sum"))
        XCTAssertEqual(try SHA256.hex(fileAt: url), try coreutils("sha256sum"))
    }
}

final class ModelStoreTests: XCTestCase {
    let repo = "tiny-org/tiny-pipeline"
    let commit = "0123456789abcdef0123456789abcdef01234567"
    var temp: URL!
    var server: TinyHubServer!
    var weights = Data()

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("svia-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        weights = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 7) })
        server = try TinyHubServer(repository: repo, commit: commit, files: [
            "model_index.json": .init(content: Data(#"{"_class_name": "Tiny"}"#.utf8), lfs: false),
            "tokenizer/merges.txt": .init(content: Data("#version: 0.2\na b\n".utf8), lfs: false),
            "unet/diffusion_pytorch_model.fp16.safetensors": .init(content: weights, lfs: true),
        ])
    }

    override func tearDownWithError() throws {
        server.stop()
        try? FileManager.default.removeItem(at: temp)
    }

    var entry: ModelEntry {
        ModelEntry(id: "tiny", repository: repo, revision: "main", role: .inpainter,
                   files: ["model_index.json", "tokenizer/merges.txt", "unet/diffusion_pytorch_model.fp16.safetensors"],
                   sizeBytes: 300_100, licence: ModelLicence(name: "MIT", url: "https://example.invalid/mit"), commercialUse: true)
    }

    var catalog: ModelCatalog { ModelCatalog(models: [entry], presets: ["tiny": [["tiny"]]]) }

    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ["HF_HUB_CACHE": temp.appendingPathComponent("hub").path, "HF_ENDPOINT": server.endpoint, "HOME": temp.path]
            .merging(extra) { $1 }
    }

    func store(_ extra: [String: String] = [:]) -> ModelStore { ModelStore(catalog: catalog, environment: environment(extra)) }

    var repoFolder: URL { temp.appendingPathComponent("hub/models--tiny-org--tiny-pipeline") }

    func testFetchIntoEmptyCache() throws {
        var progress: [FileProgress] = []
        let snapshot = try store().fetch(entry) { progress.append($0) }
        XCTAssertEqual(snapshot.path, repoFolder.appendingPathComponent("snapshots/\(commit)").path)
        XCTAssertEqual(try String(contentsOf: repoFolder.appendingPathComponent("refs/main"), encoding: .utf8), commit)

        let fm = FileManager.default
        let sha = SHA256.hex(weights)
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: snapshot.appendingPathComponent("unet/diffusion_pytorch_model.fp16.safetensors").path),
                       "../../../blobs/\(sha)")
        let indexSHA1 = GitBlobHash.hex(Data(#"{"_class_name": "Tiny"}"#.utf8))
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: snapshot.appendingPathComponent("model_index.json").path),
                       "../../blobs/\(indexSHA1)")
        XCTAssertEqual(try Data(contentsOf: snapshot.appendingPathComponent("unet/diffusion_pytorch_model.fp16.safetensors")), weights)
        XCTAssertEqual(try String(contentsOf: snapshot.appendingPathComponent("tokenizer/merges.txt"), encoding: .utf8), "#version: 0.2\na b\n")
        let blobs = try fm.contentsOfDirectory(atPath: repoFolder.appendingPathComponent("blobs").path).sorted()
        XCTAssertEqual(blobs.count, 3)
        XCTAssertFalse(blobs.contains { $0.hasSuffix(".incomplete") })
        XCTAssertEqual(progress.last(where: { $0.path.hasPrefix("unet/") })?.bytesDone, Int64(weights.count))

        // The existing reader finds the same snapshot through refs/main.
        XCTAssertEqual(try HuggingFaceCache.snapshot(repository: repo, hub: temp.appendingPathComponent("hub")).path, snapshot.path)
        XCTAssertEqual(store().path(entry)?.path, snapshot.path)
        XCTAssertEqual(store().verify(entry).filter { if case .ok = $0 { false } else { true } }, [])

        // The LFS body came from the CDN after a redirect; HEADs were not redirected.
        XCTAssertEqual(server.requests(method: "GET").map(\.path).filter { $0.hasPrefix("/cdn/") }, ["/cdn/\(sha)"])
        XCTAssertFalse(server.requests(method: "HEAD").contains { $0.path.hasPrefix("/cdn/") })
    }

    func testSecondFetchMakesNoGET() throws {
        try store().fetch(entry)
        server.resetRequests()
        try store().fetch(entry)
        XCTAssertEqual(server.requests(method: "GET"), [])
        XCTAssertEqual(server.requests(method: "HEAD").count, 3, "a branch revision is checked for updates")
    }

    func testPinnedCommitInCacheMakesNoRequest() throws {
        try store().fetch(entry)
        server.resetRequests()
        var pinned = entry
        pinned.revision = commit
        let s = ModelStore(catalog: ModelCatalog(models: [pinned]), environment: environment())
        XCTAssertEqual(try s.fetch(pinned).lastPathComponent, commit)
        XCTAssertEqual(server.requests, [])
    }

    func testResumeAfterCut() throws {
        server.cutNextBody(after: 100_000)
        XCTAssertThrowsError(try store().fetch(entry)) { error in
            guard case let .transfer(model, file, _, _)? = error as? ModelStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(model, "tiny")
            XCTAssertEqual(file, "unet/diffusion_pytorch_model.fp16.safetensors")
        }
        let sha = SHA256.hex(weights)
        let incomplete = repoFolder.appendingPathComponent("blobs/\(sha).incomplete")
        let partial = try FileManager.default.attributesOfItem(atPath: incomplete.path)[.size] as? NSNumber
        XCTAssertEqual(partial?.intValue, 100_000)

        server.resetRequests()
        let snapshot = try store().fetch(entry)
        let cdnGets = server.requests(method: "GET").filter { $0.path.hasPrefix("/cdn/") }
        XCTAssertEqual(cdnGets.map { $0.headers["range"] }, ["bytes=100000-"])
        XCTAssertEqual(try Data(contentsOf: snapshot.appendingPathComponent("unet/diffusion_pytorch_model.fp16.safetensors")), weights)
        XCTAssertFalse(FileManager.default.fileExists(atPath: incomplete.path))
    }

    func testServerIgnoringRangeRestartsTheFile() throws {
        server.cutNextBody(after: 50_000)
        XCTAssertThrowsError(try store().fetch(entry))
        server.ignoreRange(true)
        let snapshot = try store().fetch(entry)
        XCTAssertEqual(try Data(contentsOf: snapshot.appendingPathComponent("unet/diffusion_pytorch_model.fp16.safetensors")), weights)
    }

    func testCorruptedDownloadIsDeletedAndNamed() throws {
        server.serveCorrupted(true)
        XCTAssertThrowsError(try store().fetch(entry)) { error in
            guard case let .corrupted(_, file, expected, actual)? = error as? ModelStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "unet/diffusion_pytorch_model.fp16.safetensors")
            XCTAssertEqual(expected, SHA256.hex(self.weights))
            XCTAssertNotEqual(actual, expected)
            XCTAssertTrue("\(error)".contains("unet/diffusion_pytorch_model.fp16.safetensors"))
        }
        let fm = FileManager.default
        let blobs = (try? fm.contentsOfDirectory(atPath: repoFolder.appendingPathComponent("blobs").path)) ?? []
        XCTAssertFalse(blobs.contains { $0.hasPrefix(SHA256.hex(weights)) }, "no blob or partial download is kept")
        let snapFile = repoFolder.appendingPathComponent("snapshots/\(commit)/unet/diffusion_pytorch_model.fp16.safetensors")
        XCTAssertNil(try? fm.destinationOfSymbolicLink(atPath: snapFile.path))
        XCTAssertFalse(store().isPresent(entry))
    }

    func testOfflineNeverTouchesTheNetwork() throws {
        XCTAssertThrowsError(try store(["HF_HUB_OFFLINE": "1"]).fetch(entry)) { error in
            guard case let .offline(model, missing, _)? = error as? ModelStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(model, "tiny")
            XCTAssertEqual(missing, self.entry.files)
            XCTAssertTrue("\(error)".contains("HF_HUB_OFFLINE"))
        }
        XCTAssertEqual(server.requests, [])

        let online = try store().fetch(entry)
        server.resetRequests()
        XCTAssertEqual(try store(["HF_HUB_OFFLINE": "true"]).fetch(entry), online)
        XCTAssertEqual(server.requests, [])
    }

    func testTokenSentAsBearer() throws {
        server.requireToken("hf_secret")
        XCTAssertThrowsError(try store().fetch(entry)) { error in
            guard case let .http(_, _, _, status, hint)? = error as? ModelStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(status, 401)
            XCTAssertTrue(hint?.contains("HF_TOKEN") == true)
        }
        server.resetRequests()
        try store(["HF_TOKEN": "hf_secret"]).fetch(entry)
        XCTAssertFalse(server.requests.isEmpty)
        XCTAssertTrue(server.requests.allSatisfy { $0.headers["authorization"] == "Bearer hf_secret" })
    }

    func testTokenIsNotForwardedToAnotherHost() throws {
        server.requireToken("hf_secret")
        server.redirectToCDN(host: "localhost")
        let snapshot = try store(["HF_TOKEN": "hf_secret"]).fetch(entry)
        XCTAssertEqual(try Data(contentsOf: snapshot.appendingPathComponent("unet/diffusion_pytorch_model.fp16.safetensors")), weights)
        let cdn = server.requests(method: "GET").filter { $0.path.hasPrefix("/cdn/") }
        XCTAssertEqual(cdn.count, 1)
        XCTAssertEqual(cdn.first?.headers["host"]?.hasPrefix("localhost"), true)
        XCTAssertNil(cdn.first?.headers["authorization"], "\(server.requests.map { "\($0.method) \($0.path) \($0.headers)" })")
        XCTAssertTrue(server.requests.filter { !$0.path.hasPrefix("/cdn/") }.allSatisfy { $0.headers["authorization"] == "Bearer hf_secret" })
    }

    func testTransportFollowsRedirectsWithRangeButWithoutTheToken() throws {
        server.redirectToCDN(host: "localhost")
        var body = Data()
        let url = URL(string: "\(server.endpoint)/\(repo)/resolve/main/unet/diffusion_pytorch_model.fp16.safetensors")!
        let r = try HTTPTransport().get(url, headers: ["Authorization": "Bearer t", "Range": "bytes=10-"],
                                        onResponse: { _ in true }, onData: { body.append($0); return true })
        XCTAssertEqual(r.status, 206)
        XCTAssertEqual(body, weights.subdata(in: 10..<weights.count))
        let gets = server.requests(method: "GET")
        XCTAssertEqual(gets.map { $0.headers["authorization"] }, ["Bearer t", nil])
        XCTAssertEqual(gets.map { $0.headers["range"] }, ["bytes=10-", "bytes=10-"])
    }

    func testVerifyFindsATamperedBlob() throws {
        let snapshot = try store().fetch(entry)
        let blob = snapshot.appendingPathComponent("unet/diffusion_pytorch_model.fp16.safetensors").resolvingSymlinksInPath()
        var bytes = try Data(contentsOf: blob)
        bytes[10] ^= 1
        try bytes.write(to: blob)
        let checks = store().verify(entry)
        XCTAssertEqual(checks.count, 3)
        guard case let .mismatch(path, expected, actual) = checks[2] else { return XCTFail("\(checks)") }
        XCTAssertEqual(path, "unet/diffusion_pytorch_model.fp16.safetensors")
        XCTAssertEqual(expected, SHA256.hex(weights))
        XCTAssertEqual(actual, SHA256.hex(bytes))
        XCTAssertEqual(checks[0], .ok(path: "model_index.json"))
    }

    func testRequirementNamesMissingModelsAndHowToGetThem() throws {
        let s = store()
        XCTAssertThrowsError(try s.check(ModelRequirement.preset("tiny", catalog: catalog))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("tiny: tiny-org/tiny-pipeline"), text)
            XCTAssertTrue(text.contains("svia models fetch tiny"), text)
            XCTAssertTrue(text.contains("300.1 KB"), text)
            XCTAssertTrue(text.contains("HF_HOME") && text.contains("HF_HUB_CACHE"), text)
            XCTAssertTrue(text.contains("huggingface-cli download tiny-org/tiny-pipeline"), text)
        }
        try s.fetch(entry)
        XCTAssertEqual(try s.check(ModelRequirement(ids: ["tiny"])).map(\.id), ["tiny"])
    }

    func testSlotTakesAnyPresentAlternative() throws {
        var other = entry
        other.id = "other"
        other.repository = "tiny-org/absent"
        let cat = ModelCatalog(models: [other, entry])
        let s = ModelStore(catalog: cat, environment: environment())
        try s.fetch(entry)
        XCTAssertEqual(try s.check(ModelRequirement(slots: [["other", "tiny"]])).map(\.id), ["tiny"])
        XCTAssertThrowsError(try s.check(ModelRequirement(slots: [["other"]]))) {
            XCTAssertTrue("\($0)".contains("svia models fetch other"))
        }
    }

    func testMissingFileIsA404WithTheFileNamed() throws {
        var e = entry
        e.files.append("vae/config.json")
        XCTAssertThrowsError(try ModelStore(catalog: ModelCatalog(models: [e]), environment: environment()).fetch(e)) { error in
            guard case let .http(_, file, _, status, _)? = error as? ModelStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "vae/config.json")
            XCTAssertEqual(status, 404)
        }
    }

    func testETagNormalization() {
        XCTAssertEqual(ModelStore.normalizeETag("W/\"abc\""), "abc")
        XCTAssertEqual(ModelStore.normalizeETag("\"abc\""), "abc")
        XCTAssertEqual(ModelStore.normalizeETag("abc"), "abc")
        XCTAssertNil(ModelStore.normalizeETag(nil))
    }
}

final class ModelCatalogTests: XCTestCase {
    func testCatalogFileEqualsTheEmbeddedCatalog() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Models/catalog.json")
        let fromFile = try ModelCatalog(contentsOf: file)
        XCTAssertEqual(fromFile, ModelCatalog.builtIn)
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), ModelCatalog.embeddedJSON + "\n")
    }

    func testBuiltInCatalogContents() throws {
        let c = ModelCatalog.builtIn
        XCTAssertEqual(c.models.map(\.id), ["sd2-inpainting", "sd2", "sd-turbo", "taesd"] + (0...5).map { "segformer-b\($0)" })
        XCTAssertFalse(try c.entry("sd-turbo").commercialUse)
        XCTAssertFalse(try c.entry("segformer-b0").commercialUse)
        XCTAssertTrue(try c.entry("taesd").commercialUse)
        for m in c.models {
            XCTAssertFalse(m.files.contains { $0.hasSuffix(".bin") || $0.hasSuffix(".ckpt") }, m.id)
            XCTAssertTrue(m.files.contains { $0.hasSuffix(".safetensors") }, m.id)
        }
        XCTAssertEqual(try c.preset("paper").map { $0.map(\.id) },
                       [["sd2-inpainting"], ["sd2"], ["segformer-b5", "segformer-b0", "segformer-b1", "segformer-b2", "segformer-b3", "segformer-b4"]])
        XCTAssertEqual(c.presets["default"], c.presets["paper"])
        XCTAssertEqual(try c.preset("fast").map { $0.first!.id }, ["sd-turbo", "taesd", "segformer-b0"])
    }

    func testBuiltInSourcesAndPins() throws {
        let c = ModelCatalog.builtIn
        let inpaint = try c.entry("sd2-inpainting")
        XCTAssertEqual(inpaint.sources.map(\.repository), ["stabilityai/stable-diffusion-2-inpainting", "sd2-community/stable-diffusion-2-inpainting"])
        XCTAssertTrue(inpaint.sources[0].withdrawn)
        XCTAssertEqual(inpaint.downloadSource?.repository, "sd2-community/stable-diffusion-2-inpainting")
        XCTAssertEqual(inpaint.pins["unet/diffusion_pytorch_model.safetensors"],
                       FilePin(sha256: "9bcbb17f54b039f58bf78677fab8cd8a35dd686f6c9dd553e3646a8b0aaff41a", size: 3_463_784_116))
        XCTAssertEqual(try c.entry("sd2").sources.map(\.repository), ["stabilityai/stable-diffusion-2", "sd2-community/stable-diffusion-2"])
        let refs = ["segformer-b0": ("refs/pr/4", "a8df754"), "segformer-b1": ("refs/pr/3", "ad2bb01"),
                    "segformer-b3": ("refs/pr/3", "cc80791"), "segformer-b4": ("refs/pr/4", "e12f849")]
        for b in 0...5 {
            let m = try c.entry("segformer-b\(b)")
            XCTAssertFalse(m.sources.contains { $0.fetch && $0.revision == "main" }, "main has no model.safetensors")
            if let (rev, commit) = refs[m.id] {
                XCTAssertEqual(m.fetchableSources.map(\.revision), [rev], m.id)
                XCTAssertEqual(m.fetchableSources.first?.commit, commit, m.id)
            } else {
                XCTAssertEqual(m.fetchableSources, [], "\(m.id): no safetensors ref is known")
            }
            XCTAssertNotNil(m.alternative)
        }
        // Every slot of every preset has a model svia can download.
        for (name, slots) in c.presets {
            for slot in slots { XCTAssertTrue(try slot.map(c.entry).contains { !$0.fetchableSources.isEmpty }, "\(name): \(slot)") }
        }
        XCTAssertEqual(c.slot("paper", role: .segmenter).first?.id, "segformer-b5")
        XCTAssertEqual(c.slot("fast", role: .segmenter).first?.id, "segformer-b0")
        XCTAssertNotNil(try c.entry("sd-turbo").alternative)
        // The catalog survives a round trip through its own encoding.
        XCTAssertEqual(try ModelCatalog(json: JSONEncoder().encode(c), source: "re-encoded"), c)
    }

    func testRejectsPicklesAndEscapingPaths() {
        func catalog(_ file: String) -> Data {
            Data("""
            {"version": 1, "models": [{"id": "x", "repository": "a/b", "revision": "main", "role": "segmenter",
             "files": ["\(file)"], "sizeBytes": null, "licence": {"name": "MIT", "url": "u"}, "commercialUse": true}],
             "presets": {}}
            """.utf8)
        }
        XCTAssertNoThrow(try ModelCatalog(json: catalog("model.safetensors"), source: "t.json"))
        XCTAssertThrowsError(try ModelCatalog(json: catalog("pytorch_model.bin"), source: "t.json")) {
            XCTAssertTrue("\($0)".contains("t.json") && "\($0)".contains("pytorch_model.bin"))
        }
        XCTAssertThrowsError(try ModelCatalog(json: catalog("../../etc/x.json"), source: "t.json"))
        XCTAssertThrowsError(try ModelCatalog(json: Data("{".utf8), source: "t.json")) { XCTAssertTrue("\($0)".contains("t.json")) }
    }
}

/// The hub as it is since November 2025: the Stability AI SD 2 repositories answer 404, community copies serve the
/// same files; SegFormer repositories hold only `pytorch_model.bin` on `main` and `model.safetensors` on a PR ref.
final class ModelSourceTests: XCTestCase {
    let mirrorCommit = "5f74973cbb64c8568780732c17f43eb269d63a0d"
    let originalCommit = "81a84f49b15956b60b4272a405ad3daef3da4590"
    let mainCommit = "1111111111111111111111111111111111111111"
    let prCommit = "a8df754aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    var temp: URL!
    var server: TinyHubServer!
    let weights = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 9) })
    let segWeights = Data((0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("svia-sources-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        let pipeline: [String: TinyHubServer.RepoFile] = [
            "model_index.json": .init(content: Data(#"{"_class_name": "StableDiffusionInpaintPipeline"}"#.utf8), lfs: false),
            "unet/diffusion_pytorch_model.safetensors": .init(content: weights, lfs: true),
        ]
        let config = TinyHubServer.RepoFile(content: Data(#"{"model_type": "segformer"}"#.utf8), lfs: false)
        server = try TinyHubServer(repositories: [
            "sd2-community/stable-diffusion-2-inpainting": ["main": .init(commit: mirrorCommit, files: pipeline)],
            "nvidia/segformer-b0-finetuned-cityscapes-1024-1024": [
                "main": .init(commit: mainCommit, files: ["config.json": config,
                                                          "pytorch_model.bin": .init(content: Data(repeating: 1, count: 999), lfs: true)]),
                "refs/pr/4": .init(commit: prCommit, files: ["config.json": config,
                                                             "model.safetensors": .init(content: segWeights, lfs: true)]),
            ],
        ])
    }

    override func tearDownWithError() throws {
        server.stop()
        try? FileManager.default.removeItem(at: temp)
    }

    var hub: URL { temp.appendingPathComponent("hub") }

    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ["HF_HUB_CACHE": hub.path, "HF_ENDPOINT": server.endpoint, "HOME": temp.path].merging(extra) { $1 }
    }

    let licence = ModelLicence(name: "CreativeML Open RAIL++-M", url: "https://example.invalid/l")

    func inpainting(mirrorRevision: String? = nil, pinnedSHA: String? = nil) -> ModelEntry {
        ModelEntry(id: "sd2-inpainting", sources: [
            ModelSource(repository: "stabilityai/stable-diffusion-2-inpainting", revision: originalCommit, withdrawn: true,
                        note: "Deleted from the hub in November 2025."),
            ModelSource(repository: "sd2-community/stable-diffusion-2-inpainting", revision: mirrorRevision ?? mirrorCommit),
        ], role: .inpainter, files: ["model_index.json", "unet/diffusion_pytorch_model.safetensors"],
        pins: ["unet/diffusion_pytorch_model.safetensors": FilePin(sha256: pinnedSHA ?? SHA256.hex(weights), size: Int64(weights.count))],
        licence: licence, commercialUse: true)
    }

    func segformer(revision: String = "refs/pr/4", commit: String? = "a8df754") -> ModelEntry {
        let repo = "nvidia/segformer-b0-finetuned-cityscapes-1024-1024"
        return ModelEntry(id: "segformer-b0", sources: [
            ModelSource(repository: repo, revision: revision, commit: commit),
            ModelSource(repository: repo, revision: "main", fetch: false),
        ], role: .segmenter, files: ["config.json", "model.safetensors"],
        licence: ModelLicence(name: "NVIDIA Source Code License for SegFormer", url: "u"), commercialUse: false)
    }

    func store(_ entries: [ModelEntry], _ extra: [String: String] = [:]) -> ModelStore {
        ModelStore(catalog: ModelCatalog(models: entries), environment: environment(extra))
    }

    func testWithdrawnOriginalAnswers404AndTheMirrorServesTheSameFiles() throws {
        let e = inpainting()
        let snapshot = try store([e]).fetch(e)
        let mirror = hub.appendingPathComponent("models--sd2-community--stable-diffusion-2-inpainting")
        XCTAssertEqual(snapshot.path, mirror.appendingPathComponent("snapshots/\(mirrorCommit)").path)
        XCTAssertEqual(try Data(contentsOf: snapshot.appendingPathComponent("unet/diffusion_pytorch_model.safetensors")), weights)
        let original = server.requests(method: "HEAD").filter { $0.path.hasPrefix("/stabilityai/") }
        XCTAssertEqual(original.count, 1, "the original is asked first and answers 404")
        XCTAssertFalse(FileManager.default.fileExists(atPath: hub.appendingPathComponent("models--stabilityai--stable-diffusion-2-inpainting").path))
        XCTAssertEqual(store([e]).path(e)?.path, snapshot.path)
        XCTAssertTrue(store([e]).verify(e).allSatisfy { if case .ok = $0 { true } else { false } })

        // A second fetch: the pinned mirror commit is in the cache, no request at all.
        server.resetRequests()
        XCTAssertEqual(try store([e]).fetch(e), snapshot)
        XCTAssertEqual(server.requests, [])
    }

    func testVerifyComparesCachedFilesWithThePins() throws {
        let e = inpainting()
        try store([e]).fetch(e)
        var other = e
        other.pins["unet/diffusion_pytorch_model.safetensors"]?.sha256 = String(repeating: "cd", count: 32)
        let checks = store([other]).verify(other)
        XCTAssertEqual(checks.first, .ok(path: "model_index.json"))
        XCTAssertEqual(checks.last, .mismatch(path: "unet/diffusion_pytorch_model.safetensors",
                                              expected: String(repeating: "cd", count: 32), actual: SHA256.hex(weights)))
    }

    func testACachedOriginalIsUsedWithoutTheNetwork() throws {
        // A cache made before the withdrawal: the original at its pinned commit.
        let e = inpainting()
        let repo = hub.appendingPathComponent("models--stabilityai--stable-diffusion-2-inpainting")
        let snap = repo.appendingPathComponent("snapshots/\(originalCommit)")
        try FileManager.default.createDirectory(at: snap.appendingPathComponent("unet"), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: snap.appendingPathComponent("model_index.json"))
        try weights.write(to: snap.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"))
        XCTAssertEqual(try store([e]).fetch(e).path, snap.path)
        XCTAssertEqual(server.requests, [])
    }

    func testOnlyTheMirrorFailingNamesEverySource() throws {
        let e = inpainting(mirrorRevision: "0000000000000000000000000000000000000000")
        XCTAssertThrowsError(try store([e]).fetch(e)) { error in
            guard case let .allSourcesFailed(model, failures)? = error as? ModelStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(model, "sd2-inpainting")
            XCTAssertEqual(failures.count, 2)
            XCTAssertTrue(failures[0].contains("stabilityai/stable-diffusion-2-inpainting") && failures[0].contains("404"), failures[0])
            XCTAssertTrue(failures[1].contains("sd2-community/stable-diffusion-2-inpainting"), failures[1])
        }
    }

    func testAMirrorServingOtherBytesIsRefusedNamingTheFile() throws {
        let e = inpainting(pinnedSHA: String(repeating: "ab", count: 32))
        XCTAssertThrowsError(try store([e]).fetch(e)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("unet/diffusion_pytorch_model.safetensors"), text)
            XCTAssertTrue(text.contains("sd2-community/stable-diffusion-2-inpainting"), text)
            XCTAssertTrue(text.contains("pinned \(String(repeating: "ab", count: 32))"), text)
        }
        XCTAssertEqual(server.requests(method: "GET").filter { $0.path.hasPrefix("/cdn/") }, [], "refused before downloading")
        XCTAssertFalse(store([e]).isPresent(e))
    }

    func testSegFormerMainHasNoSafetensorsButThePRRefHas() throws {
        // Asking main for model.safetensors, as the catalog used to: 404.
        let onMain = segformer(revision: "main", commit: nil)
        var mainOnly = onMain
        mainOnly.sources = [ModelSource(repository: onMain.repository, revision: "main")]
        XCTAssertThrowsError(try store([mainOnly]).fetch(mainOnly)) { error in
            guard case let .http(_, file, _, status, _)? = error as? ModelStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "model.safetensors")
            XCTAssertEqual(status, 404)
        }

        server.resetRequests()
        let e = segformer()
        let snapshot = try store([e]).fetch(e)
        let repo = hub.appendingPathComponent("models--nvidia--segformer-b0-finetuned-cityscapes-1024-1024")
        XCTAssertEqual(snapshot.path, repo.appendingPathComponent("snapshots/\(prCommit)").path)
        // huggingface_hub's layout for a ref with slashes: refs/refs/pr/4.
        XCTAssertEqual(try String(contentsOf: repo.appendingPathComponent("refs/refs/pr/4"), encoding: .utf8), prCommit)
        XCTAssertEqual(try Data(contentsOf: snapshot.appendingPathComponent("model.safetensors")), segWeights)
        XCTAssertTrue(server.requests(method: "HEAD").allSatisfy { $0.path.contains("/resolve/refs%2Fpr%2F4/") })

        server.resetRequests()
        XCTAssertEqual(try store([e]).fetch(e), snapshot)
        XCTAssertEqual(server.requests, [], "the pinned commit is in the cache")
    }

    func testCommitOtherThanThePinnedOneIsRefused() throws {
        server.overrideCommit("2222222222222222222222222222222222222222")
        let e = segformer()
        XCTAssertThrowsError(try store([e]).fetch(e)) { error in
            guard case let .commitMismatch(_, repo, rev, expected, actual)? = error as? ModelStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(repo, "nvidia/segformer-b0-finetuned-cityscapes-1024-1024")
            XCTAssertEqual(rev, "refs/pr/4")
            XCTAssertEqual(expected, "a8df754")
            XCTAssertEqual(actual, "2222222222222222222222222222222222222222")
        }
        XCTAssertEqual(server.requests(method: "GET"), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: hub.appendingPathComponent("models--nvidia--segformer-b0-finetuned-cityscapes-1024-1024/refs").path))
    }

    func testAnETagThatIsNoHashAndNoSizeIsRefused() throws {
        server.serveBadETags(true)
        let e = segformer()
        XCTAssertThrowsError(try store([e]).fetch(e)) { error in
            guard case let .unverifiable(_, file, _, etag)? = error as? ModelStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "config.json")
            XCTAssertEqual(etag, "1f-weak")
            XCTAssertTrue("\(error)".contains("refusing"))
        }
        XCTAssertEqual(server.requests(method: "GET"), [])
        XCTAssertFalse(store([e]).isPresent(e))
    }

    func testAPinnedFileNeedsNoETagHashButMustMatchThePin() throws {
        // The LFS file's ETag is no hash and there is no size; the catalog's SHA-256 is what is checked.
        server.serveBadETags(true)
        var e = inpainting()
        e.files = ["unet/diffusion_pytorch_model.safetensors"]
        let snapshot = try store([e]).fetch(e)
        XCTAssertEqual(try Data(contentsOf: snapshot.appendingPathComponent("unet/diffusion_pytorch_model.safetensors")), weights)

        server.serveCorrupted(true)
        var other = e
        other.sources = [ModelSource(repository: "sd2-community/stable-diffusion-2-inpainting", revision: "main")]
        try FileManager.default.removeItem(at: hub)
        XCTAssertThrowsError(try store([other]).fetch(other)) { error in
            guard case let .corrupted(_, file, expected, _)? = error as? ModelStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "unet/diffusion_pytorch_model.safetensors")
            XCTAssertEqual(expected, SHA256.hex(self.weights))
        }
    }

    func testTheTokenGoesOnlyOverHTTPSToTheEndpointHost() {
        let hubStore = ModelStore(catalog: ModelCatalog(models: []),
                                  environment: ["HF_ENDPOINT": "https://huggingface.co", "HF_TOKEN": "hf_x", "HOME": temp.path])
        XCTAssertTrue(hubStore.mayCarryToken(URL(string: "https://huggingface.co/a/b/resolve/main/x")!))
        XCTAssertFalse(hubStore.mayCarryToken(URL(string: "http://huggingface.co/a/b/resolve/main/x")!), "https→http downgrade")
        XCTAssertFalse(hubStore.mayCarryToken(URL(string: "https://cdn-lfs.huggingface.co/x")!))
        XCTAssertFalse(hubStore.mayCarryToken(URL(string: "https://huggingface.co:8443/x")!))
        XCTAssertEqual(hubStore.headers(for: URL(string: "http://huggingface.co/x")!)["Authorization"], nil)
        XCTAssertEqual(hubStore.headers(for: URL(string: "https://huggingface.co/x")!)["Authorization"], "Bearer hf_x")

        let plain = ModelStore(catalog: ModelCatalog(models: []), environment: ["HF_ENDPOINT": "http://hub.example", "HOME": temp.path])
        XCTAssertFalse(plain.mayCarryToken(URL(string: "http://hub.example/x")!), "plain http only on loopback")
        let loopback = ModelStore(catalog: ModelCatalog(models: []), environment: ["HF_ENDPOINT": "http://127.0.0.1:8080", "HOME": temp.path])
        XCTAssertTrue(loopback.mayCarryToken(URL(string: "http://127.0.0.1:8080/x")!))
        XCTAssertFalse(loopback.mayCarryToken(URL(string: "http://127.0.0.1:8081/x")!))
    }

    func testTransportSendsNoTokenToHopsTheRuleRefuses() throws {
        let https = URL(string: "https://huggingface.co/a/b/resolve/main/x")!
        XCTAssertFalse(HTTPTransport.keepsAuthorization(from: https, to: URL(string: "http://huggingface.co/a/b/resolve/main/x")!))
        XCTAssertTrue(HTTPTransport.keepsAuthorization(from: https, to: URL(string: "https://huggingface.co/api/x")!))
        XCTAssertFalse(HTTPTransport.keepsAuthorization(from: https, to: URL(string: "https://cdn-lfs.hf.co/x")!))

        server.redirectToCDN(host: "localhost")
        var body = Data()
        let url = URL(string: "\(server.endpoint)/sd2-community/stable-diffusion-2-inpainting/resolve/main/unet/diffusion_pytorch_model.safetensors")!
        _ = try HTTPTransport().get(url, headers: ["Authorization": "Bearer t"], authorize: { $0.scheme == "https" },
                                    onResponse: { _ in true }, onData: { body.append($0); return true })
        XCTAssertEqual(body, weights)
        XCTAssertTrue(server.requests(method: "GET").allSatisfy { $0.headers["authorization"] == nil },
                      "a hop the rule refuses gets no token, the first one included")
    }

    func testTokenFromHFHomeAndHFTokenPath() throws {
        server.requireToken("hf_file")
        let home = temp.appendingPathComponent("hf-home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try Data("hf_file\n".utf8).write(to: home.appendingPathComponent("token"))
        let e = segformer()
        XCTAssertEqual(try store([e], ["HF_HOME": home.path]).fetch(e).lastPathComponent, prCommit)
        XCTAssertTrue(server.requests.filter { !$0.path.hasPrefix("/cdn/") }.allSatisfy { $0.headers["authorization"] == "Bearer hf_file" })

        XCTAssertEqual(ModelStore.token(environment: ["HF_TOKEN_PATH": home.appendingPathComponent("token").path]), "hf_file")
        XCTAssertEqual(ModelStore.token(environment: ["HF_TOKEN": "hf_env", "HF_HOME": home.path]), "hf_env")
        XCTAssertEqual(ModelStore.token(environment: ["XDG_CACHE_HOME": temp.path, "HOME": temp.path]), nil)
    }

    func testMalformedEndpointIsAnErrorNotACrash() {
        let e = segformer()
        for bad in ["huggingface.co", "ftp://huggingface.co", "https://", "https://user:pw@huggingface.co", "https://h.co/?x=1", "ht tp://x"] {
            XCTAssertThrowsError(try store([e], ["HF_ENDPOINT": bad]).fetch(e), bad) { error in
                guard case .badEndpoint? = error as? ModelStoreError else { return XCTFail("\(bad): \(error)") }
            }
        }
        XCTAssertEqual(server.requests, [])
    }

    func testRepositoryIDsAreValidated() throws {
        for good in ["nvidia/segformer-b0-finetuned-cityscapes-1024-1024", "sd2-community/stable-diffusion-2", "a/b.c_d"] {
            XCTAssertTrue(ModelCatalog.isValidRepositoryID(good), good)
        }
        for bad in ["/org/name", "org//name", "org/name/x", "org/na?me", "org/na#me", "../name", "org/..", "org/a..b", "org/a--b",
                    "org", "org/", "org/name ", "org/.hidden", "org/%2e%2e"] {
            XCTAssertFalse(ModelCatalog.isValidRepositoryID(bad), bad)
        }
        XCTAssertFalse(ModelCatalog.isValidRevision("refs/../x"))
        XCTAssertFalse(ModelCatalog.isValidRevision("main?x"))
        XCTAssertTrue(ModelCatalog.isValidRevision("refs/pr/4"))
        try FileManager.default.createDirectory(at: hub.appendingPathComponent("models--x/snapshots/c"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try HuggingFaceCache.snapshot(repository: "x", revision: "c", hub: hub), "not ORG/NAME")
        var e = segformer()
        e.sources[0].repository = "org//name"
        XCTAssertThrowsError(try store([e]).fetch(e)) { error in
            guard case .badRepository? = error as? ModelStoreError else { return XCTFail("\(error)") }
        }
        let json = try JSONEncoder().encode(ModelCatalog(models: [e]))
        XCTAssertThrowsError(try ModelCatalog(json: json, source: "t.json")) { XCTAssertTrue("\($0)".contains("org//name")) }
        XCTAssertEqual(server.requests, [])
    }

    func testConcurrentFetchesFromASlowServerIgnoringRangeLeaveAVerifiedCache() throws {
        server.ignoreRange(true)
        server.slowCDN(microsecondsPerChunk: 20_000)
        let e = inpainting()
        let group = DispatchGroup()
        let results = LockedResults()
        let env = environment()
        for _ in 0..<3 {
            group.enter()
            Thread {
                let s = ModelStore(catalog: ModelCatalog(models: [e]), environment: env)
                do { results.add(.success(try s.fetch(e))) } catch { results.add(.failure(error)) }
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        let all = results.all
        XCTAssertEqual(all.count, 3)
        for r in all { if case let .failure(error) = r { XCTFail("\(error)") } }
        XCTAssertTrue(store([e]).verify(e).allSatisfy { if case .ok = $0 { true } else { false } })
        let blobs = try FileManager.default.contentsOfDirectory(
            atPath: hub.appendingPathComponent("models--sd2-community--stable-diffusion-2-inpainting/blobs").path)
        XCTAssertFalse(blobs.contains { $0.hasSuffix(".incomplete") })
        let cdn = server.requests(method: "GET").filter { $0.path.hasPrefix("/cdn/") }
        XCTAssertEqual(cdn.count, 1, "one process downloads the blob, the others wait for its lock and find it")
        XCTAssertTrue(FileManager.default.fileExists(
            atPath: hub.appendingPathComponent(".locks/models--sd2-community--stable-diffusion-2-inpainting/\(SHA256.hex(weights)).lock").path))
    }
}

private final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<URL, Error>] = []
    func add(_ r: Result<URL, Error>) { lock.lock(); results.append(r); lock.unlock() }
    var all: [Result<URL, Error>] { lock.lock(); defer { lock.unlock() }; return results }
}
