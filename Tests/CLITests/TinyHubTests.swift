import Foundation
import Networks
import TensorCore
import Testing

/// The tiny hub cache: huggingface_hub's layout, resolved by `HuggingFaceCache`, read by `DiffusersFolder`, and
/// every model in it loading through the library's loaders and reproducing the reference outputs.
@Suite struct TinyHubTests {
    static let prompt = "masterpiece, realistic, cityscapes, street, car, no_humans"

    struct Case: Decodable { let text: String; let ids: [Int]; let padded: [Int] }
    struct Recorded: Decodable { let bos: Int; let eos: Int; let pad: Int; let vocab_size: Int; let cases: [Case] }

    static func recorded() throws -> Recorded {
        try JSONDecoder().decode(Recorded.self, from: Data(contentsOf: TinyHub.tokenizerIds))
    }

    static func tensors(_ url: URL) throws -> [String: Tensor] {
        let file = try SafeTensorsFile(path: url.path)
        var out: [String: Tensor] = [:]
        for name in file.names { out[name] = try file.tensor(name) }
        return out
    }

    static var expected: URL { TinyHub.fixtures.appendingPathComponent("diffusion/tiny/expected") }

    /// max |a − b| ≤ tolerance · max(1, max |b|), with the shapes equal.
    static func expectClose(_ a: Tensor, _ b: Tensor?, _ tolerance: Float, _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        guard let b else { Issue.record("\(what): reference missing", sourceLocation: sourceLocation); return }
        #expect(a.shape == b.shape, "\(what): shape \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
        guard a.shape == b.shape else { return }
        let x = a.scalars, y = b.scalars
        let diff = zip(x, y).map { abs($0 - $1) }.max() ?? 0
        let scale = max(1, y.map(abs).max() ?? 0)
        #expect(diff <= tolerance * scale, "\(what): max |diff| \(diff)", sourceLocation: sourceLocation)
    }

    /// Deterministic values in [-1, 1].
    static func pattern(_ shape: [Int], seed: Float = 0) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: (0..<n).map { sin(Float($0) * 0.37 + seed) })
    }

    static func repoDir(_ hub: URL, _ repository: String) -> URL {
        hub.appendingPathComponent(HuggingFaceCache.folderName(repository: repository), isDirectory: true)
    }

    // MARK: Layout

    @Test func layoutIsHuggingFaceHubs() throws {
        let s = try Scratch()
        let hub = try TinyHub.make(at: URL(fileURLWithPath: s.path))
        #expect(hub.path == s.file("hub"))
        let fm = FileManager.default
        #expect(try fm.contentsOfDirectory(atPath: hub.path).sorted() == [
            "models--madebyollin--taesd", "models--nvidia--segformer-b0-finetuned-cityscapes-1024-1024",
            "models--stabilityai--sd-turbo", "models--stabilityai--stable-diffusion-2",
            "models--stabilityai--stable-diffusion-2-inpainting",
        ])
        let expectedPaths: [String: Set<String>] = [
            TinyHub.inpainting: Self.pipelinePaths, TinyHub.sd2: Self.pipelinePaths, TinyHub.sdTurbo: Self.pipelinePaths,
            TinyHub.taesd: ["config.json", "diffusion_pytorch_model.safetensors"],
            TinyHub.segformer: ["config.json", "model.safetensors"],
        ]
        var commits: Set<String> = []
        for repository in TinyHub.repositories {
            let dir = Self.repoDir(hub, repository)
            #expect(try fm.contentsOfDirectory(atPath: dir.path).sorted() == ["blobs", "refs", "snapshots"])
            let commit = try String(contentsOf: dir.appendingPathComponent("refs/main"), encoding: .utf8)
            #expect(commit.count == 40 && commit.allSatisfy { $0.isHexDigit && !$0.isUppercase }, "\(repository): \(commit)")
            commits.insert(commit)
            let snapshot = try HuggingFaceCache.snapshot(repository: repository, hub: hub)
            #expect(snapshot.standardizedFileURL.path == dir.appendingPathComponent("snapshots/\(commit)").path)
            #expect(try HuggingFaceCache.snapshot(repository: repository, revision: commit, hub: hub).path == snapshot.path)

            // Every snapshot file is a relative link to blobs/<sha256 of its bytes>, the bytes of its fixture.
            let sources = try TinyHub.files(of: repository)
            #expect(Set(sources.map(\.path)) == expectedPaths[repository], "\(repository)")
            var listed: Set<String> = []
            let walker = fm.enumerator(atPath: snapshot.path)
            while let p = walker?.nextObject() as? String {
                let attributes = try fm.attributesOfItem(atPath: snapshot.appendingPathComponent(p).path)
                if attributes[.type] as? FileAttributeType == .typeSymbolicLink { listed.insert(p) }
            }
            #expect(listed == expectedPaths[repository], "\(repository)")
            let blobs = Set(try fm.contentsOfDirectory(atPath: dir.appendingPathComponent("blobs").path))
            for (path, source) in sources {
                let link = snapshot.appendingPathComponent(path)
                let target = try fm.destinationOfSymbolicLink(atPath: link.path)
                let depth = path.split(separator: "/").count + 1
                #expect(target.hasPrefix(String(repeating: "../", count: depth) + "blobs/"), "\(path) -> \(target)")
                let blob = (target as NSString).lastPathComponent
                #expect(blob.count == 64 && blobs.contains(blob), "\(path) -> \(target)")
                let bytes = try Data(contentsOf: link)
                #expect(bytes == (try Data(contentsOf: source)), "\(repository)/\(path)")
                #expect(try TinyHub.sha256(data: bytes) == blob, "\(repository)/\(path)")
            }
            #expect(blobs.count == sources.count, "\(repository): one blob per distinct file")
        }
        #expect(commits.count == TinyHub.repositories.count, "each repository has its own commit")

        // Building again over the same folder changes nothing.
        let again = try TinyHub.make(at: URL(fileURLWithPath: s.path))
        #expect(again == hub)
        for repository in TinyHub.repositories {
            #expect(try HuggingFaceCache.snapshot(repository: repository, hub: hub).lastPathComponent
                    == String(contentsOf: Self.repoDir(hub, repository).appendingPathComponent("refs/main"), encoding: .utf8))
            #expect(try fm.contentsOfDirectory(atPath: Self.repoDir(hub, repository).appendingPathComponent("snapshots").path).count == 1)
        }
    }

    static let pipelinePaths: Set<String> = [
        "model_index.json", "scheduler/scheduler_config.json",
        "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
        "vae/config.json", "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/config.json", "text_encoder/model.safetensors",
        "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
    ]

    @Test func makesOnlyTheRequestedRepositories() throws {
        let s = try Scratch()
        let hub = try TinyHub.make(at: URL(fileURLWithPath: s.path), repositories: [TinyHub.taesd, TinyHub.segformer])
        #expect(try FileManager.default.contentsOfDirectory(atPath: hub.path).sorted()
                == ["models--madebyollin--taesd", "models--nvidia--segformer-b0-finetuned-cityscapes-1024-1024"])
        #expect(throws: DiffusersFolderError.notInCache(repository: TinyHub.inpainting, hub: hub.path)) {
            try HuggingFaceCache.snapshot(repository: TinyHub.inpainting, hub: hub)
        }
        #expect(throws: TinyHub.Failure.self) {
            try TinyHub.make(at: URL(fileURLWithPath: s.path), repositories: ["stabilityai/stable-diffusion-9"])
        }
        #expect(throws: TinyHub.Failure.self) { try TinyHub.files(of: "nvidia/mit-b0") }
    }

    // MARK: Pipelines

    struct Pipeline: Sendable, CustomTestStringConvertible {
        let repository: String
        let pipelineClass: String
        let schedulerClass: String
        let prediction: PredictionType
        let spacing: TimestepSpacing
        let unetInChannels: Int
        var testDescription: String { repository }
    }

    static let pipelines: [Pipeline] = [
        Pipeline(repository: TinyHub.inpainting, pipelineClass: "StableDiffusionInpaintPipeline",
                 schedulerClass: "PNDMScheduler", prediction: .epsilon, spacing: .leading, unetInChannels: 9),
        Pipeline(repository: TinyHub.sd2, pipelineClass: "StableDiffusionPipeline",
                 schedulerClass: "PNDMScheduler", prediction: .vPrediction, spacing: .leading, unetInChannels: 4),
        Pipeline(repository: TinyHub.sdTurbo, pipelineClass: "StableDiffusionPipeline",
                 schedulerClass: "EulerDiscreteScheduler", prediction: .epsilon, spacing: .trailing, unetInChannels: 4),
    ]

    @Test(arguments: pipelines) func pipelineReadsAndLoads(_ p: Pipeline) throws {
        let s = try Scratch()
        let hub = try TinyHub.make(at: URL(fileURLWithPath: s.path), repositories: [p.repository])
        let folder = try DiffusersFolder(repository: p.repository, environment: TinyHub.environment(hub: hub))
        #expect(folder.root.path == (try HuggingFaceCache.snapshot(repository: p.repository, hub: hub)).path)

        #expect(folder.index.className == p.pipelineClass)
        #expect(folder.index.components["unet"] == .init(library: "diffusers", className: "UNet2DConditionModel"))
        #expect(folder.index.components["vae"] == .init(library: "diffusers", className: "AutoencoderKL"))
        #expect(folder.index.components["text_encoder"] == .init(library: "transformers", className: "CLIPTextModel"))
        #expect(folder.index.components["tokenizer"] == .init(library: "transformers", className: "CLIPTokenizer"))
        #expect(folder.index.components["scheduler"] == .init(library: "diffusers", className: p.schedulerClass))

        let unetConfig = try folder.unetConfig()
        #expect(unetConfig.inChannels == p.unetInChannels)
        #expect(unetConfig.blockOutChannels == [16, 32])
        #expect(try folder.vaeConfig().blockOutChannels == [16, 32])
        let textConfig = try folder.textEncoderConfig()
        #expect(textConfig.vocabSize == 1000 && textConfig.hiddenSize == 32)
        let scheduler = try folder.schedulerConfig()
        #expect(scheduler.className == p.schedulerClass)
        #expect(scheduler.predictionType == p.prediction)
        #expect(scheduler.timestepSpacing == p.spacing)
        #expect(scheduler.betaSchedule == .scaledLinear && scheduler.betaStart == 0.00085 && scheduler.betaEnd == 0.012)

        for (component, file) in [("unet", "diffusion_pytorch_model.safetensors"), ("vae", "diffusion_pytorch_model.safetensors"),
                                  ("text_encoder", "model.safetensors")] {
            let weights = try folder.weights(component)
            #expect(weights.files.map(\.lastPathComponent) == [file], "\(component)")
            #expect(weights.variant == nil && weights.index == nil, "\(component)")
        }

        let tokenizer = try folder.tokenizer()
        let recorded = try Self.recorded()
        #expect(tokenizer.encode(Self.prompt) == recorded.cases.first { $0.text == Self.prompt }?.padded)

        let encoder = try CLIPTextEncoder.load(folder)
        let context = encoder.embed([Self.prompt], tokenizer: tokenizer)
        #expect(context.shape == [1, 77, 32])
        #expect(context.scalars.allSatisfy { $0.isFinite })

        let unet = try UNet2DCondition.load(folder)
        let noise = unet(Self.pattern([1, p.unetInChannels, 8, 8]), timestep: 999, context: context)
        #expect(noise.shape == [1, 4, 8, 8])
        #expect(noise.scalars.allSatisfy { $0.isFinite })

        let vae = try AutoencoderKL.load(folder)
        #expect(vae.encode(Self.pattern([1, 3, 16, 16])).mean.shape == [1, 4, 8, 8])
        #expect(vae.decode(Self.pattern([1, 4, 8, 8], seed: 1)).shape == [1, 3, 16, 16])
    }

    // The hub's copies are the fixture models: the reference outputs of transformers/diffusers come out.
    @Test func pipelineWeightsReproduceTheReferenceOutputs() throws {
        let s = try Scratch()
        let hub = try TinyHub.make(at: URL(fileURLWithPath: s.path), repositories: [TinyHub.inpainting])
        let folder = try DiffusersFolder(HuggingFaceCache.snapshot(repository: TinyHub.inpainting, hub: hub))

        let text = try Self.tensors(Self.expected.appendingPathComponent("text_encoder.safetensors"))
        let ids = try #require(text["input_ids"])
        let rows = (0..<ids.shape[0]).map { i in (0..<ids.shape[1]).map { Int(ids.scalars[i * ids.shape[1] + $0]) } }
        Self.expectClose(try CLIPTextEncoder.load(folder)(rows), text["last_hidden_state"], 2e-5, "text encoder")

        let vae = try Self.tensors(Self.expected.appendingPathComponent("vae.safetensors"))
        Self.expectClose(try AutoencoderKL.load(folder).decode(try #require(vae["latents"])), vae["decoded"], 2e-5, "vae decode")
    }

    // MARK: Tokenizer

    @Test func tokenizerGivesTransformersIds() throws {
        let s = try Scratch()
        let hub = try TinyHub.make(at: URL(fileURLWithPath: s.path), repositories: [TinyHub.sd2])
        let folder = try DiffusersFolder(HuggingFaceCache.snapshot(repository: TinyHub.sd2, hub: hub))
        let tokenizer = try CLIPTokenizer(folder: folder.folder("tokenizer"))
        let recorded = try Self.recorded()
        #expect(tokenizer.vocabulary.count == recorded.vocab_size)
        #expect(recorded.vocab_size == (try folder.textEncoderConfig().vocabSize))
        #expect(tokenizer.bosTokenId == recorded.bos && tokenizer.eosTokenId == recorded.eos && tokenizer.padTokenId == recorded.pad)
        #expect(tokenizer.maxLength == 77)
        #expect(recorded.cases.contains { $0.text == Self.prompt })
        for c in recorded.cases {
            #expect(tokenizer.encode(c.text, addSpecialTokens: true) == c.ids, "\(c.text)")
            #expect(tokenizer.encode(c.text) == c.padded, "\(c.text)")
            #expect(c.padded.allSatisfy { (0..<recorded.vocab_size).contains($0) }, "\(c.text)")
        }
    }

    // MARK: TAESD and SegFormer

    @Test func taesdLoadsAndDecodesLikeDiffusers() throws {
        let s = try Scratch()
        let hub = try TinyHub.make(at: URL(fileURLWithPath: s.path), repositories: [TinyHub.taesd])
        let snapshot = try HuggingFaceCache.snapshot(repository: TinyHub.taesd, hub: hub)
        let taesd = try AutoencoderTiny.load(componentFolder: snapshot)
        let e = try Self.tensors(Self.expected.appendingPathComponent("vae_tiny.safetensors"))
        Self.expectClose(taesd.decode(try #require(e["latents"])), e["decoded"], 2e-5, "TAESD decode")
        Self.expectClose(taesd.encode(try #require(e["image"])), e["encoded"], 2e-5, "TAESD encode")
    }

    @Test func segformerLoadsFromTheSnapshotAndTheCacheEntry() throws {
        let s = try Scratch()
        let hub = try TinyHub.make(at: URL(fileURLWithPath: s.path), repositories: [TinyHub.segformer])
        let snapshot = try HuggingFaceCache.snapshot(repository: TinyHub.segformer, hub: hub)
        let reference = try Self.tensors(TinyHub.fixtures.appendingPathComponent("segformer/tiny1/reference.safetensors"))
        let pixels = try #require(reference["pixel_values"])
        for directory in [snapshot.path, Self.repoDir(hub, TinyHub.segformer).path] {
            let model = try SegFormer(directory: directory)
            #expect(model.labels.count == 19)
            #expect(model.labels[0] == "road" && model.labels[11] == "person" && model.labels[13] == "car")
            Self.expectClose(model.logits(pixels), reference["logits"], 1e-5, "SegFormer logits (\(directory))")
        }
    }
}
