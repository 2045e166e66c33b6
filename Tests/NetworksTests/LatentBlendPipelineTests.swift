// Latent-blend inpainting (diffusers 0.42.1 StableDiffusionInpaintPipeline with a 4-channel UNet) and runs that
// start from given latents. Expected values: Fixtures/diffusion/tiny/expected/pipeline_blend.safetensors, written
// by Scripts/fixtures/make_diffusion_model_fixtures.py (also with --real for a 4-channel checkpoint).
import Foundation
import Testing
import TensorCore
@testable import Networks

@Suite("Latent-blend inpainting and initial latents")
struct LatentBlendPipelineTests {
    static let sets: [ParitySet] = [.tiny] + (ParitySet.real.map { [$0] } ?? [])

    static func draws(_ e: [String: Tensor], _ prefix: String) -> [Tensor] {
        (0...).lazy.map { e["\(prefix)noise_\($0)"] }.prefix { $0 != nil }.map { $0! }
    }

    /// The fixture's runs: (name, scheduler, guidance, strength, steps taken).
    static func cases() throws -> [(String, any Scheduler, Float, Double, Int)] {
        [("euler2", try EulerDiscreteScheduler(config: .sdTurbo, steps: 2), 1, 1, 2),
         ("ddim3", try DiffusionModelTests.scheduler(prediction: .vPrediction, steps: 3), 3, 1, 3),
         ("euler4s", try EulerDiscreteScheduler(config: .sdTurbo, steps: 4), 2, 0.5, 2)]
    }

    // Per-step latents and the image with the noise PyTorch drew (image posterior, initial noise, the unused
    // masked-image posterior, DDIM's eta noise).
    @Test(arguments: sets) func parityWithDiffusers(_ set: ParitySet) throws {
        guard set.has("pipeline_blend") else { return }  // a real folder with an inpainting UNet
        let e = try set.expected("pipeline_blend")
        let pipe = try LatentBlendInpaintPipeline(unet: UNet2DCondition.load(componentFolder: set.component("unet_v")),
                                                  autoencoder: AutoencoderKL.load(componentFolder: set.component("vae")))
        for (name, scheduler, guidance, strength, taken) in try Self.cases() {
            let noise = Self.draws(e, name + ".")
            var run = try pipe.start(image: e["image"]!, mask: e["mask"]!, prompt: e["prompt_embeds"]!,
                                     negativePrompt: e["negative_prompt_embeds"]!, scheduler: scheduler,
                                     settings: DiffusionSettings(guidanceScale: guidance, strength: strength),
                                     noise: .supplied(noise))
            #expect(run.predOriginalSample == nil)
            #expect(run.steps.map(\.timestep) == Array(e["\(name).timesteps"]!.scalars.map(Double.init).suffix(taken)))
            var i = 0
            while let progress = run.next() {
                expectClose(progress.latents, e["\(name).latents_\(i)"], atol: 1e-4, rtol: 1e-4,
                            "\(name) latents after step \(i)", scale: set.scale)
                i += 1
            }
            #expect(i == taken)
            #expect(run.noise.draws == noise.count, "\(name)")
            expectClose(((run.decode() / 2) + 0.5).clamp(min: 0, max: 1), e["\(name).output"], atol: 1e-4, rtol: 1e-4,
                        "\(name) image", scale: set.scale)
            // Outside the mask the result is the clean image latents; inside, Euler's last step (to sigma 0)
            // returns its clean estimate.
            let blend = try #require(run.blend)
            let outside = (1 - blend.mask) * (run.latents - blend.imageLatents)
            #expect(outside.scalars.allSatisfy { $0 == 0 }, "\(name)")
            if scheduler is EulerDiscreteScheduler {
                let x0 = try #require(run.predOriginalSample)
                expectClose(blend.mask * run.latents, blend.mask * x0, atol: 1e-5, rtol: 1e-5, "\(name) x0 inside")
            }
        }
    }

    // MARK: initial latents

    struct Inputs {
        let image: Tensor, mask: Tensor, prompt: Tensor, negative: Tensor
        let vae: AutoencoderKL
        /// Image posterior noise, initial noise, masked-image posterior noise, 4 step draws.
        let draws: [Tensor]
        /// The image's scaled latents made with draws[0].
        let imageLatents: Tensor

        init() throws {
            let set = ParitySet.tiny
            let e = try set.expected("pipeline_inpaint")
            image = e["image"]!
            mask = e["mask"]!
            prompt = e["prompt_embeds"]!
            negative = e["negative_prompt_embeds"]!
            vae = try AutoencoderKL.load(componentFolder: set.component("vae"))
            let shape = [1, 4, image.shape[2] / vae.scaleFactor, image.shape[3] / vae.scaleFactor]
            var rng = GaussianNoise(seed: 11)
            draws = (0..<7).map { _ in rng.tensor(shape: shape) }
            var first = PipelineNoise.supplied([draws[0]])
            imageLatents = vae.encodeLatents(image, noise: &first) * vae.latentScalingFactor
        }

        var other: Tensor { imageLatents * 0.5 + 0.3 }
    }

    static func ddim() throws -> DDIMScheduler { try DiffusionModelTests.scheduler(prediction: .epsilon, steps: 4) }

    @Test func inpaintFromInitialLatents() throws {
        let x = try Inputs()
        let pipe = try InpaintPipeline(unet: UNet2DCondition.load(componentFolder: ParitySet.tiny.component("unet_inpaint")),
                                       autoencoder: x.vae)
        let settings = DiffusionSettings(guidanceScale: 2, strength: 0.5)  // 2 of 4 DDIM steps, eta 1
        func run(_ noise: [Tensor], _ initial: Tensor?) throws -> DenoisingRun {
            var r = try pipe.start(image: x.image, mask: x.mask, prompt: x.prompt, negativePrompt: x.negative,
                                   scheduler: Self.ddim(), settings: settings, noise: .supplied(noise), initialLatents: initial)
            r.finish()
            #expect(r.noise.draws == noise.count)
            return r
        }
        // No image posterior sample is drawn for given latents: the same run minus the first draw.
        let encoded = try run(Array(x.draws[0..<5]), nil)
        let given = try run(Array(x.draws[1..<5]), x.imageLatents)
        #expect(given.latents.scalars == encoded.latents.scalars)
        let other = try run(Array(x.draws[1..<5]), x.other)
        #expect(zip(other.latents.scalars, encoded.latents.scalars).map { abs($0 - $1) }.max()! > 1e-2)
        // At strength 1 the run starts from noise: given latents change nothing.
        let full = DiffusionSettings(guidanceScale: 2, strength: 1)
        var a = try pipe.start(image: x.image, mask: x.mask, prompt: x.prompt, negativePrompt: x.negative, scheduler: Self.ddim(),
                               settings: full, noise: .supplied(Array(x.draws[1..<7])))
        var b = try pipe.start(image: x.image, mask: x.mask, prompt: x.prompt, negativePrompt: x.negative, scheduler: Self.ddim(),
                               settings: full, noise: .supplied(Array(x.draws[1..<7])), initialLatents: x.other)
        a.finish()
        b.finish()
        #expect(a.latents.scalars == b.latents.scalars)
    }

    @Test func img2imgFromInitialLatents() throws {
        let x = try Inputs()
        let pipe = try Img2ImgPipeline(unet: UNet2DCondition.load(componentFolder: ParitySet.tiny.component("unet_v")),
                                       autoencoder: x.vae)
        let settings = DiffusionSettings(guidanceScale: 2, strength: 0.5)
        func run(_ noise: [Tensor], _ initial: Tensor?) throws -> Tensor {
            var r = try pipe.start(image: x.image, prompt: x.prompt, negativePrompt: x.negative, scheduler: Self.ddim(),
                                   settings: settings, noise: .supplied(noise), initialLatents: initial)
            r.finish()
            #expect(r.noise.draws == noise.count)
            return r.latents
        }
        // Draws: image posterior, added noise, 2 step draws; with given latents, no posterior.
        let encoded = try run([x.draws[0], x.draws[1], x.draws[3], x.draws[4]], nil)
        let given = try run([x.draws[1], x.draws[3], x.draws[4]], x.imageLatents)
        #expect(given.scalars == encoded.scalars)
        let other = try run([x.draws[1], x.draws[3], x.draws[4]], x.other)
        #expect(zip(other.scalars, encoded.scalars).map { abs($0 - $1) }.max()! > 1e-2)
    }

    @Test func latentBlendFromInitialLatents() throws {
        let x = try Inputs()
        let pipe = try LatentBlendInpaintPipeline(unet: UNet2DCondition.load(componentFolder: ParitySet.tiny.component("unet_v")),
                                                  autoencoder: x.vae)
        let settings = DiffusionSettings(guidanceScale: 2, strength: 0.5)
        // The image posterior is drawn either way (its latents are blended in): the same draws in both runs.
        let noise = Array(x.draws[0..<5])
        func run(_ initial: Tensor?) throws -> DenoisingRun {
            var r = try pipe.start(image: x.image, mask: x.mask, prompt: x.prompt, negativePrompt: x.negative,
                                   scheduler: Self.ddim(), settings: settings, noise: .supplied(noise), initialLatents: initial)
            r.finish()
            #expect(r.noise.draws == noise.count)
            return r
        }
        let encoded = try run(nil), given = try run(x.imageLatents), other = try run(x.other)
        #expect(given.latents.scalars == encoded.latents.scalars)
        #expect(zip(other.latents.scalars, encoded.latents.scalars).map { abs($0 - $1) }.max()! > 1e-2)
        // Outside the mask both end on the image's latents.
        let keep = 1 - (try #require(other.blend)).mask
        #expect((keep * other.latents).scalars == (keep * x.imageLatents).scalars)
        #expect((keep * encoded.latents).scalars == (keep * x.imageLatents).scalars)
    }

    // MARK: errors and draw counts

    @Test func rejectsWrongInputs() throws {
        let x = try Inputs()
        let inpaintUNet = try UNet2DCondition.load(componentFolder: ParitySet.tiny.component("unet_inpaint"))
        #expect(throws: PipelineError.wrongUNetChannels(expected: 4, found: 9)) {
            try LatentBlendInpaintPipeline(unet: inpaintUNet, autoencoder: x.vae)
        }
        let blend = try LatentBlendInpaintPipeline(unet: UNet2DCondition.load(componentFolder: ParitySet.tiny.component("unet_v")),
                                                   autoencoder: x.vae)
        let wrong = Tensor.zeros([1, 4, 8, 8])
        let latentShape = x.imageLatents.shape
        #expect(throws: PipelineError.shapeMismatch(what: "initial latents", shape: [1, 4, 8, 8], expected: latentShape)) {
            try blend.start(image: x.image, mask: x.mask, prompt: x.prompt, negativePrompt: nil, scheduler: Self.ddim(),
                            settings: DiffusionSettings(strength: 0.5), noise: .seeded(1), initialLatents: wrong)
        }
        #expect(throws: PipelineError.shapeMismatch(what: "mask", shape: [1, 1, 8, 8], expected: [1, 1, 32, 32])) {
            try blend.start(image: x.image, mask: Tensor.zeros([1, 1, 8, 8]), prompt: x.prompt, negativePrompt: nil,
                            scheduler: Self.ddim(), noise: .seeded(1))
        }
        let inpaint = try InpaintPipeline(unet: inpaintUNet, autoencoder: x.vae)
        #expect(throws: PipelineError.shapeMismatch(what: "initial latents", shape: [1, 4, 8, 8], expected: latentShape)) {
            try inpaint.start(image: x.image, mask: x.mask, prompt: x.prompt, negativePrompt: nil, scheduler: Self.ddim(),
                              settings: DiffusionSettings(strength: 0.5), noise: .seeded(1), initialLatents: wrong)
        }
    }

    /// Both pipelines behind the protocol; TAESD draws no posterior samples.
    @Test func protocolAndDeterministicEncoder() throws {
        let set = ParitySet.tiny
        let e = try set.expected("pipeline_inpaint")
        let taesd = try AutoencoderTiny.load(componentFolder: set.component("vae_tiny"))
        let image = Tensor.cat([e["image"]!, e["image"]!], dim: 2)  // [1, 3, 64, 32]: 8x4 latents at factor 8
        let mask = Tensor.cat([e["mask"]!, e["mask"]!], dim: 2)
        let pipes: [any InpaintingPipeline] = [
            try LatentBlendInpaintPipeline(unet: UNet2DCondition.load(componentFolder: set.component("unet_v")), autoencoder: taesd),
            try InpaintPipeline(unet: UNet2DCondition.load(componentFolder: set.component("unet_inpaint")), autoencoder: taesd),
        ]
        for pipe in pipes {
            var run = try pipe.start(image: image, mask: mask, prompt: e["prompt_embeds"]!, negativePrompt: nil,
                                     scheduler: EulerDiscreteScheduler(config: .sdTurbo, steps: 2),
                                     settings: DiffusionSettings(guidanceScale: 1), noise: .seeded(3), initialLatents: nil)
            #expect(run.noise.draws == 1)  // the initial noise only
            run.finish()
            #expect(run.latents.shape == [1, 4, 8, 4])
            #expect(run.predOriginalSample?.shape == [1, 4, 8, 4])
            #expect(run.decode().shape == [1, 3, 64, 32])
        }
    }
}
