// Parity of the SD2 networks and pipelines with diffusers 0.42.1 / transformers 5.23.0 / torch 2.15.0.
// Expected values: Fixtures/diffusion/tiny/expected/*.safetensors, written with the tiny random-weight models
// beside them by Scripts/fixtures/make_diffusion_model_fixtures.py (re-run it when the pins change).
// With SVIA_REAL_WEIGHTS=<diffusers folder or HF hub cache>, the same checks run on the real checkpoints against
// the files `make_diffusion_model_fixtures.py --real <folder> --out <dir>` writes into <dir> (default
// <folder>/svia-parity, or SVIA_REAL_EXPECTED).
import Foundation
import Testing
import TensorCore
@testable import Networks

/// Where a set of components and their expected outputs live.
struct ParitySet: Sendable, CustomTestStringConvertible {
    let name: String
    let components: URL
    let expected: URL
    /// Multiplies every tolerance: full-size models sum thousands of terms per output, so rounding grows.
    let scale: Float
    var testDescription: String { name }

    static var tiny: ParitySet {
        let base = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/diffusion/tiny")
        return ParitySet(name: "tiny", components: base, expected: base.appendingPathComponent("expected"), scale: 1)
    }

    static var real: ParitySet? {
        let env = ProcessInfo.processInfo.environment
        guard let path = env["SVIA_REAL_WEIGHTS"], !path.isEmpty else { return nil }
        var root = URL(fileURLWithPath: path)
        if !FileManager.default.fileExists(atPath: root.appendingPathComponent("model_index.json").path),
           let snapshot = try? HuggingFaceCache.snapshot(repository: "stabilityai/stable-diffusion-2-inpainting", hub: root) {
            root = snapshot
        }
        let expected = env["SVIA_REAL_EXPECTED"].map { URL(fileURLWithPath: $0) } ?? root.appendingPathComponent("svia-parity")
        return ParitySet(name: "real", components: root, expected: expected, scale: 20)
    }

    static var realEnabled: Bool { real != nil }

    /// A component folder: the tiny fixtures name their two UNets; a real pipeline folder has one `unet`.
    func component(_ name: String) -> URL {
        guard self.name == "real" else { return components.appendingPathComponent(name) }
        return components.appendingPathComponent(name.hasPrefix("unet") ? "unet" : name)
    }

    func expected(_ name: String) throws -> [String: Tensor] {
        let file = try SafeTensorsFile(path: expected.appendingPathComponent(name + ".safetensors").path)
        var out: [String: Tensor] = [:]
        for n in file.names { out[n] = try file.tensor(n) }
        return out
    }

    func has(_ expectedName: String) -> Bool {
        FileManager.default.fileExists(atPath: expected.appendingPathComponent(expectedName + ".safetensors").path)
    }
}

/// max |a − b| / (atol + rtol·|b|) ≤ 1, reported with the worst element.
func expectClose(_ a: Tensor, _ b: Tensor?, atol: Float, rtol: Float, _ what: String, scale: Float = 1,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard let b else {
        Issue.record("\(what): expected tensor missing", sourceLocation: sourceLocation)
        return
    }
    guard a.shape == b.shape else {
        Issue.record("\(what): shape \(a.shape) vs expected \(b.shape)", sourceLocation: sourceLocation)
        return
    }
    let x = a.scalars, y = b.scalars
    var worst: Float = 0, at = 0
    for i in x.indices {
        let r = abs(x[i] - y[i]) / (atol * scale + rtol * scale * abs(y[i]))
        if !(r <= worst) { worst = r.isNaN ? .infinity : r; at = i }
    }
    if ProcessInfo.processInfo.environment["SVIA_PARITY_REPORT"] != nil {
        print("parity \(what): error ratio \(worst) (atol \(atol * scale), rtol \(rtol * scale))")
    }
    #expect(worst <= 1, "\(what): error ratio \(worst) at \(at) (\(x.isEmpty ? 0 : x[at]) vs \(y.isEmpty ? 0 : y[at]))",
            sourceLocation: sourceLocation)
}

func ids(_ t: Tensor) -> [[Int]] {
    let l = t.shape[1], v = t.scalars
    return (0..<t.shape[0]).map { i in (0..<l).map { Int(v[i * l + $0]) } }
}

@Suite("Stable Diffusion networks: parity with diffusers")
struct DiffusionModelTests {
    static let sets: [ParitySet] = [.tiny] + (ParitySet.real.map { [$0] } ?? [])

    // Tolerances: worst observed error is about 1/3 of each (SVIA_PARITY_REPORT=1 prints the ratios).
    // Text encoder: GEMM summation order and the 2e-7 erf polynomial of GELU; values are O(1).
    @Test(arguments: sets) func textEncoder(_ set: ParitySet) throws {
        let model = try CLIPTextEncoder.load(componentFolder: set.component("text_encoder"))
        let e = try set.expected("text_encoder")
        let tokens = ids(e["input_ids"]!)
        expectClose(model.encode(tokens, layers: 1), e["hidden_state_1"], atol: 2e-5, rtol: 2e-5, "hidden_states[1]", scale: set.scale)
        expectClose(model(tokens), e["last_hidden_state"], atol: 2e-5, rtol: 2e-5, "last_hidden_state", scale: set.scale)
    }

    // VAE: Winograd 3x3 convs and group norm sums; encoder outputs O(1), decoder O(1).
    @Test(arguments: sets) func autoencoderKL(_ set: ParitySet) throws {
        let vae = try AutoencoderKL.load(componentFolder: set.component("vae"))
        let e = try set.expected("vae")
        let image = e["image"]!
        expectClose(vae.encoder.firstDownBlock(image), e["enc_down0"], atol: 2e-5, rtol: 2e-5, "encoder.down_blocks[0]", scale: set.scale)
        let posterior = vae.encode(image)
        expectClose(posterior.mean, e["mean"], atol: 2e-5, rtol: 2e-5, "latent mean", scale: set.scale)
        expectClose(posterior.logvar, e["logvar"], atol: 2e-5, rtol: 2e-5, "latent logvar", scale: set.scale)
        expectClose(posterior.sample(noise: e["noise"]!), e["sample"], atol: 2e-5, rtol: 2e-5, "latent sample", scale: set.scale)
        let latents = e["latents"]!
        expectClose(vae.decoder.midBlock(vae.postQuantConv!(latents)), e["dec_mid"], atol: 2e-5, rtol: 2e-5, "decoder.mid_block", scale: set.scale)
        expectClose(vae.decode(latents), e["decoded"], atol: 2e-5, rtol: 2e-5, "decoded", scale: set.scale)
    }

    // Tiled paths: same arithmetic per tile plus the linear blend.
    @Test func autoencoderKLTiled() throws {
        let set = ParitySet.tiny
        var vae = try AutoencoderKL.load(componentFolder: set.component("vae"))
        vae.tiling = VAETiling(sampleTile: 16, latentTile: 8)
        let e = try set.expected("vae")
        expectClose(vae.encodeMoments(e["tiled_image"]!), e["tiled_moments"], atol: 2e-5, rtol: 2e-5, "tiled moments")
        expectClose(vae.decode(e["tiled_latents"]!), e["tiled_decoded"], atol: 2e-5, rtol: 2e-5, "tiled decode")
    }

    // TAESD: plain convs and ReLUs; tanh from libm vs PyTorch's vectorised tanh.
    @Test func autoencoderTiny() throws {
        let set = ParitySet.tiny
        let vae = try AutoencoderTiny.load(componentFolder: set.component("vae_tiny"))
        let e = try set.expected("vae_tiny")
        expectClose(vae.encode(e["image"]!), e["encoded"], atol: 2e-5, rtol: 2e-5, "encoded")
        expectClose(vae.decode(e["latents"]!), e["decoded"], atol: 2e-5, rtol: 2e-5, "decoded")
        expectClose(vae.scaleLatents(e["latents"]!), e["scaled"], atol: 1e-6, rtol: 1e-6, "scale_latents")
        expectClose(vae.unscaleLatents(vae.scaleLatents(e["latents"]!)), e["unscaled"], atol: 1e-5, rtol: 1e-6, "unscale_latents")
    }

    // UNet: time embedding is sin/cos of arguments up to ~1000 rad (float32 rounding of the argument is shared,
    // libm vs PyTorch's sin differ by an ulp); the rest sums conv, attention and GEGLU products.
    @Test(arguments: ["unet_inpaint", "unet_v"]) func unet(_ name: String) throws {
        try checkUNet(ParitySet.tiny, name)
    }

    /// Loaded without the Winograd forms (the low-memory mode), the UNet gives diffusers' output too.
    @Test func unetWithoutFastKernels() throws {
        let set = ParitySet.tiny
        let unet = try UNet2DCondition.load(componentFolder: set.component("unet_v"), fastKernels: false)
        let e = try set.expected("unet_v")
        let out = unet(e["sample"]!, timestep: e["timestep"]!.scalars[0], context: e["context"]!)
        expectClose(out, e["out"], atol: 2e-5, rtol: 2e-5, "unet_v output without fast kernels", scale: set.scale)
    }

    @Test(.enabled(if: ParitySet.realEnabled)) func unetReal() throws {
        let set = try #require(ParitySet.real)
        try checkUNet(set, set.has("unet_inpaint") ? "unet_inpaint" : "unet_v")
    }

    func checkUNet(_ set: ParitySet, _ name: String) throws {
        let unet = try UNet2DCondition.load(componentFolder: set.component(name))
        let e = try set.expected(name)
        let trace = UNet2DCondition.Trace()
        let out = unet.forward(e["sample"]!, timestep: e["timestep"]!.scalars[0], context: e["context"]!, trace: trace)
        expectClose(trace.temb!, e["temb"], atol: 2e-5, rtol: 2e-5, "\(name) time embedding", scale: set.scale)
        expectClose(trace.down[0], e["down0"], atol: 2e-5, rtol: 2e-5, "\(name) down_blocks[0]", scale: set.scale)
        expectClose(trace.mid!, e["mid"], atol: 2e-5, rtol: 2e-5, "\(name) mid_block", scale: set.scale)
        expectClose(out, e["out"], atol: 2e-5, rtol: 2e-5, "\(name) output", scale: set.scale)
    }

    static func scheduler(prediction: PredictionType, steps: Int) throws -> DDIMScheduler {
        var config = SchedulerConfig.sd2Inpainting
        config.predictionType = prediction
        return try DDIMScheduler(config: config, steps: steps, eta: 1)
    }

    static func noise(_ e: [String: Tensor]) -> [Tensor] {
        (0...).lazy.map { e["noise_\($0)"] }.prefix { $0 != nil }.map { $0! }
    }

    // Whole inpainting run (3 DDIM steps, eta 1, guidance 4) with the noise PyTorch drew; errors of the UNet
    // compound through the steps and the guidance factor, so the latents' tolerance is looser.
    @Test(arguments: sets) func inpaintPipeline(_ set: ParitySet) throws {
        guard set.has("pipeline_inpaint") else { return }  // a real folder without an inpainting UNet
        let e = try set.expected("pipeline_inpaint")
        let pipe = try InpaintPipeline(unet: UNet2DCondition.load(componentFolder: set.component("unet_inpaint")),
                                       autoencoder: AutoencoderKL.load(componentFolder: set.component("vae")))
        let steps = e["timesteps"]!.count
        var run = try pipe.start(image: e["image"]!, mask: e["mask"]!, prompt: e["prompt_embeds"]!,
                                 negativePrompt: e["negative_prompt_embeds"]!,
                                 scheduler: Self.scheduler(prediction: .epsilon, steps: steps),
                                 settings: DiffusionSettings(guidanceScale: 4), noise: .supplied(Self.noise(e)))
        #expect(run.steps.map(\.timestep) == e["timesteps"]!.scalars.map(Double.init))
        var i = 0
        while let progress = run.next() {
            expectClose(progress.latents, e["latents_\(i)"], atol: 1e-4, rtol: 1e-4, "latents after step \(i)", scale: set.scale)
            i += 1
        }
        #expect(i == steps)
        #expect(run.noise.draws == Self.noise(e).count)
        expectClose(((run.decode() / 2) + 0.5).clamp(min: 0, max: 1), e["output"], atol: 1e-4, rtol: 1e-4, "image", scale: set.scale)
    }

    // img2img with v-prediction, strength 0.7 (2 of 3 steps), eta 1, guidance 3.
    @Test(arguments: sets) func img2imgPipeline(_ set: ParitySet) throws {
        guard set.has("pipeline_img2img") else { return }  // a real folder with an inpainting UNet
        let e = try set.expected("pipeline_img2img")
        let pipe = try Img2ImgPipeline(unet: UNet2DCondition.load(componentFolder: set.component("unet_v")),
                                       autoencoder: AutoencoderKL.load(componentFolder: set.component("vae")))
        let scheduler = try Self.scheduler(prediction: .vPrediction, steps: 3)
        var run = try pipe.start(image: e["image"]!, prompt: e["prompt_embeds"]!, negativePrompt: e["negative_prompt_embeds"]!,
                                 scheduler: scheduler, settings: DiffusionSettings(guidanceScale: 3, strength: 0.7),
                                 noise: .supplied(Self.noise(e)))
        #expect(run.steps.map(\.timestep) == Array(e["timesteps"]!.scalars.map(Double.init).suffix(2)))
        var i = 0
        while let progress = run.next() {
            expectClose(progress.latents, e["latents_\(i)"], atol: 1e-4, rtol: 1e-4, "latents after step \(i)", scale: set.scale)
            i += 1
        }
        #expect(i == 2)
        #expect(run.noise.draws == Self.noise(e).count)
        expectClose(((run.decode() / 2) + 0.5).clamp(min: 0, max: 1), e["output"], atol: 1e-4, rtol: 1e-4, "image", scale: set.scale)
    }

    // Pipelines with TAESD and seeded noise: shapes, determinism and early stop (cancellation).
    @Test func seededRunWithTAESD() throws {
        let set = ParitySet.tiny
        let taesd = try AutoencoderTiny.load(componentFolder: set.component("vae_tiny"))
        let e = try set.expected("pipeline_img2img")
        let pipe = try Img2ImgPipeline(unet: UNet2DCondition.load(componentFolder: set.component("unet_v")), autoencoder: taesd)
        let image = Tensor.cat([e["image"]!, e["image"]!], dim: 2)  // [1, 3, 64, 32]: 8x4 latents at TAESD's factor 8
        func run() throws -> DenoisingRun {
            try pipe.start(image: image, prompt: e["prompt_embeds"]!, negativePrompt: e["negative_prompt_embeds"]!,
                           scheduler: Self.scheduler(prediction: .vPrediction, steps: 4),
                           settings: DiffusionSettings(guidanceScale: 2, strength: 1), noise: .seeded(7))
        }
        var a = try run(), b = try run()
        a.finish()
        _ = b.next()
        #expect(!b.isFinished)
        b.finish()
        #expect(a.latents.shape == [1, 4, 8, 4])
        #expect(a.latents.scalars == b.latents.scalars)
        #expect(a.decode().shape == [1, 3, 64, 32])
    }
}

@Suite("Strict weight loading")
struct WeightLoadingTests {
    func tensors() throws -> [String: Tensor] {
        let url = ParitySet.tiny.component("vae_tiny").appendingPathComponent("diffusion_pytorch_model.safetensors")
        let file = try SafeTensorsFile(path: url.path)
        var out: [String: Tensor] = [:]
        for n in file.names { out[n] = try file.tensor(n) }
        return out
    }

    func config() throws -> AutoencoderTinyConfig {
        try DiffusionConfig.load(AutoencoderTinyConfig.self,
                                 from: ParitySet.tiny.component("vae_tiny").appendingPathComponent("config.json"))
    }

    @Test func missingTensorIsNamed() throws {
        var t = try tensors()
        t["decoder.layers.0.bias"] = nil
        #expect(throws: WeightLoadError.missingTensor(component: "vae_tiny", key: "decoder.layers.0.bias")) {
            try AutoencoderTiny(config: config(), weights: WeightStore(tensors: t, component: "vae_tiny"))
        }
    }

    @Test func unusedTensorIsNamed() throws {
        var t = try tensors()
        t["decoder.extra.weight"] = Tensor.zeros([2])
        #expect(throws: WeightLoadError.unusedTensors(component: "vae_tiny", keys: ["decoder.extra.weight"])) {
            try AutoencoderTiny(config: config(), weights: WeightStore(tensors: t, component: "vae_tiny"))
        }
    }

    @Test func wrongShapeIsNamed() throws {
        var t = try tensors()
        t["decoder.layers.0.bias"] = Tensor.zeros([3])
        #expect(throws: WeightLoadError.wrongShape(component: "vae_tiny", key: "decoder.layers.0.bias", expected: [16], found: [3])) {
            try AutoencoderTiny(config: config(), weights: WeightStore(tensors: t, component: "vae_tiny"))
        }
    }
}

@Suite("Checkpoint layouts")
struct CheckpointLayoutTests {
    /// Parameter names and shapes of the full-size SD2-inpainting components, from diffusers/transformers.
    static func sd2Keys(_ component: String) throws -> [String: [Int]] {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/diffusion/sd2_keys.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let keys = (json["keys"] as! [String: Any])[component] as! [String: [Int]]
        return keys
    }

    // Every parameter of the real architectures is taken once, at the checkpoint's shape (no weights needed).
    @Test func sd2InpaintingUNetTakesEveryParameter() throws {
        _ = try UNet2DCondition(config: .sd2Inpainting, weights: WeightStore(shapes: Self.sd2Keys("unet"), component: "unet"))
    }

    @Test func sd2VAETakesEveryParameter() throws {
        _ = try AutoencoderKL(config: .sd2Inpainting, weights: WeightStore(shapes: Self.sd2Keys("vae"), component: "vae"))
    }

    @Test func openCLIPTextEncoderTakesEveryParameter() throws {
        _ = try CLIPTextEncoder(config: .openCLIPViTH, weights: WeightStore(shapes: Self.sd2Keys("text_encoder"), component: "text_encoder"))
    }

    /// A copy of a tiny component folder with its tensors renamed by `rename` (and `extra` added).
    func rewritten(_ name: String, file: String, extra: [(String, Tensor)] = [], rename: (String) -> String) throws -> URL {
        let source = ParitySet.tiny.component(name)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svia-layout-\(UUID().uuidString)/\(name)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        let st = try SafeTensorsFile(path: source.appendingPathComponent(file).path)
        let tensors = try st.names.map { (rename($0), try st.tensor($0)) } + extra
        try SafeTensors.write(tensors, to: dir.appendingPathComponent(file).path)
        return dir
    }

    // transformers 4 wrote `text_model.`-prefixed keys and the position_ids buffer (SD2's text_encoder does).
    @Test func transformers4TextEncoderKeys() throws {
        let dir = try rewritten("text_encoder", file: "model.safetensors",
                                extra: [("text_model.embeddings.position_ids", Tensor(shape: [1, 77], scalars: (0..<77).map(Float.init)))]) {
            "text_model." + $0
        }
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let model = try CLIPTextEncoder.load(componentFolder: dir)
        let e = try ParitySet.tiny.expected("text_encoder")
        expectClose(model(ids(e["input_ids"]!)), e["last_hidden_state"], atol: 2e-5, rtol: 2e-5, "last_hidden_state")
    }

    // diffusers < 0.14 named the VAE mid-block attention query/key/value/proj_attn.
    @Test func legacyVAEAttentionKeys() throws {
        let dir = try rewritten("vae", file: "diffusion_pytorch_model.safetensors") {
            $0.replacingOccurrences(of: ".to_q.", with: ".query.").replacingOccurrences(of: ".to_k.", with: ".key.")
                .replacingOccurrences(of: ".to_v.", with: ".value.").replacingOccurrences(of: ".to_out.0.", with: ".proj_attn.")
        }
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let vae = try AutoencoderKL.load(componentFolder: dir)
        let e = try ParitySet.tiny.expected("vae")
        expectClose(vae.decode(e["latents"]!), e["decoded"], atol: 2e-5, rtol: 2e-5, "decoded")
    }
}
