// Port of diffusers 0.42.1 pipelines/stable_diffusion/pipeline_stable_diffusion_inpaint.py
// (StableDiffusionInpaintPipeline with a 9-channel UNet). Prompts come in as embeddings (CLIPTextEncoder output).
import Foundation
import TensorCore

public enum PipelineError: Error, Equatable, CustomStringConvertible {
    case wrongUNetChannels(expected: Int, found: Int)
    case sizeNotDivisible(height: Int, width: Int, factor: Int)
    case shapeMismatch(what: String, shape: [Int], expected: [Int])

    public var description: String {
        switch self {
        case let .wrongUNetChannels(e, f): "the UNet takes \(f) input channels; this pipeline needs \(e)"
        case let .sizeNotDivisible(h, w, f): "image size \(w)x\(h) is not a multiple of \(f)"
        case let .shapeMismatch(what, shape, expected): "\(what) has shape \(shape), expected \(expected)"
        }
    }
}

/// Knobs of one denoising run.
public struct DiffusionSettings: Sendable {
    public var guidanceScale: Float
    /// Fraction of the schedule to run (img2img; 1 starts from pure noise).
    public var strength: Double

    public init(guidanceScale: Float = 7.5, strength: Double = 1) {
        self.guidanceScale = guidanceScale
        self.strength = strength
    }
}

/// What the anonymizer needs of an inpainting pipeline, whichever way it uses the mask.
public protocol InpaintingPipeline: Sendable {
    var unet: UNet2DCondition { get }
    var autoencoder: any LatentAutoencoder { get }
    /// Starts a run; see `InpaintPipeline.start` and `LatentBlendInpaintPipeline.start`.
    func start(image: Tensor, mask: Tensor, prompt: Tensor, negativePrompt: Tensor?, scheduler: any Scheduler,
               settings: DiffusionSettings, noise: PipelineNoise, initialLatents: Tensor?) throws -> DenoisingRun
}

/// The checked inputs of an inpainting run.
struct InpaintInputs {
    /// [1, 1, H, W]: 1 where repainted (mask ≥ 0.5), else 0.
    let binaryMask: Tensor
    /// The binary mask at latent size [1, 1, h, w] (nearest, as torch's default `interpolate`).
    let latentMask: Tensor
    /// [1, C, h, w] of the latents the UNet denoises.
    let latentShape: [Int]

    init(image: Tensor, mask: Tensor, unet: UNet2DCondition, autoencoder: any LatentAutoencoder) throws {
        guard image.rank == 4, image.shape[0] == 1, image.shape[1] == 3 else {
            throw PipelineError.shapeMismatch(what: "image", shape: image.shape,
                                              expected: [1, 3] + Array(image.shape.dropFirst(2)))
        }
        let h = image.shape[2], w = image.shape[3], f = autoencoder.scaleFactor
        guard mask.shape == [1, 1, h, w] else { throw PipelineError.shapeMismatch(what: "mask", shape: mask.shape, expected: [1, 1, h, w]) }
        guard h % f == 0, w % f == 0 else { throw PipelineError.sizeNotDivisible(height: h, width: w, factor: f) }
        binaryMask = Tensor(shape: mask.shape, scalars: mask.scalars.map { $0 >= 0.5 ? 1 : 0 })
        latentMask = binaryMask.interpolate(size: (h / f, w / f), mode: .nearest)
        latentShape = [1, unet.config.outChannels, h / f, w / f]
    }

    /// `initialLatents` when they have the run's latent shape.
    func checked(initialLatents: Tensor) throws -> Tensor {
        guard initialLatents.shape == latentShape else {
            throw PipelineError.shapeMismatch(what: "initial latents", shape: initialLatents.shape, expected: latentShape)
        }
        return initialLatents
    }
}

/// SD2 inpainting: the UNet sees latents ‖ mask ‖ masked-image latents (4 + 1 + 4 channels).
public struct InpaintPipeline: InpaintingPipeline {
    public let unet: UNet2DCondition
    public let autoencoder: any LatentAutoencoder

    public init(unet: UNet2DCondition, autoencoder: any LatentAutoencoder) throws {
        guard unet.config.inChannels == 9 else { throw PipelineError.wrongUNetChannels(expected: 9, found: unet.config.inChannels) }
        self.unet = unet
        self.autoencoder = autoencoder
    }

    /// Starts a run. `image` [1, 3, H, W] in [−1, 1]; `mask` [1, 1, H, W] in [0, 1], repainted where ≥ 0.5;
    /// `prompt` and `negativePrompt` [1, L, D] text states (diffusers' default negative is `embed([""])`; nil
    /// guides against zeros). The scheduler fixes steps and eta.
    ///
    /// `initialLatents` (scaled latents [1, 4, H/f, W/f], e.g. the previous video frame's result): with strength
    /// < 1 the run starts from these noised to the first step's level instead of from the encoded image; the
    /// image still gives the masked-image conditioning. Ignored at strength 1 (the run starts from pure noise).
    ///
    /// Noise is drawn as diffusers draws it: (strength < 1 without `initialLatents`: image posterior sample,)
    /// initial noise, masked-image posterior sample, then one draw per step that needs noise.
    public func start(image: Tensor, mask: Tensor, prompt: Tensor, negativePrompt: Tensor?, scheduler: any Scheduler,
                      settings: DiffusionSettings = DiffusionSettings(), noise: PipelineNoise,
                      initialLatents: Tensor? = nil) throws -> DenoisingRun {
        let inputs = try InpaintInputs(image: image, mask: mask, unet: unet, autoencoder: autoencoder)
        var noise = noise
        let steps = try scheduler.steps(strength: settings.strength)
        let masked = image * (1 - inputs.binaryMask)  // image where kept, 0 where repainted
        let latents: Tensor
        if settings.strength >= 1 {
            latents = noise.next(shape: inputs.latentShape) * scheduler.initNoiseSigma
        } else {
            let start = try initialLatents.map(inputs.checked(initialLatents:))
                ?? autoencoder.encodeLatents(image, noise: &noise) * autoencoder.latentScalingFactor
            latents = scheduler.addNoise(start, noise: noise.next(shape: inputs.latentShape), at: steps[steps.startIndex])
        }
        let maskedLatents = autoencoder.encodeLatents(masked, noise: &noise) * autoencoder.latentScalingFactor
        return DenoisingRun(unet: unet, autoencoder: autoencoder, scheduler: scheduler, steps: steps,
                            guidanceScale: settings.guidanceScale, prompt: prompt, negativePrompt: negativePrompt,
                            conditioning: Tensor.cat([inputs.latentMask, maskedLatents], dim: 1), latents: latents,
                            noise: noise)
    }

    /// Runs all steps and decodes: the image [1, 3, H, W] in about [−1, 1].
    public func callAsFunction(image: Tensor, mask: Tensor, prompt: Tensor, negativePrompt: Tensor?,
                               scheduler: any Scheduler, settings: DiffusionSettings = DiffusionSettings(),
                               noise: PipelineNoise, initialLatents: Tensor? = nil) throws -> Tensor {
        var run = try start(image: image, mask: mask, prompt: prompt, negativePrompt: negativePrompt,
                            scheduler: scheduler, settings: settings, noise: noise, initialLatents: initialLatents)
        run.finish()
        return run.decode()
    }
}
