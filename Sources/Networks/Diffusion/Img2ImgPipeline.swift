// Port of diffusers 0.42.1 pipelines/stable_diffusion/pipeline_stable_diffusion_img2img.py
// (StableDiffusionImg2ImgPipeline). Prompts come in as embeddings (CLIPTextEncoder output).
import Foundation
import TensorCore

/// img2img: encode the image, noise it to the level where `strength` of the schedule remains, denoise from there.
public struct Img2ImgPipeline: Sendable {
    public let unet: UNet2DCondition
    public let autoencoder: any LatentAutoencoder

    public init(unet: UNet2DCondition, autoencoder: any LatentAutoencoder) throws {
        guard unet.config.inChannels == unet.config.outChannels else {
            throw PipelineError.wrongUNetChannels(expected: unet.config.outChannels, found: unet.config.inChannels)
        }
        self.unet = unet
        self.autoencoder = autoencoder
    }

    /// Starts a run on `image` [1, 3, H, W] in [−1, 1]. Noise is drawn as diffusers draws it: the image posterior
    /// sample, the noise added at the first timestep, then one draw per step that needs noise.
    ///
    /// `initialLatents` (scaled latents [1, 4, H/f, W/f], e.g. the previous video frame's result) replace the
    /// encoded image: they are noised to the first step's level, and no image posterior sample is drawn (the
    /// image then only fixes the size).
    public func start(image: Tensor, prompt: Tensor, negativePrompt: Tensor?, scheduler: any Scheduler,
                      settings: DiffusionSettings = DiffusionSettings(strength: 0.8), noise: PipelineNoise,
                      initialLatents: Tensor? = nil) throws -> DenoisingRun {
        let h = image.shape[2], w = image.shape[3], f = autoencoder.scaleFactor
        guard image.rank == 4, image.shape[0] == 1, image.shape[1] == 3 else {
            throw PipelineError.shapeMismatch(what: "image", shape: image.shape, expected: [1, 3, h, w])
        }
        guard h % f == 0, w % f == 0 else { throw PipelineError.sizeNotDivisible(height: h, width: w, factor: f) }
        var noise = noise
        let steps = try scheduler.steps(strength: settings.strength)
        let latentShape = [1, unet.config.outChannels, h / f, w / f]
        let imageLatents: Tensor  // [1, 4, h, w]
        if let initialLatents {
            guard initialLatents.shape == latentShape else {
                throw PipelineError.shapeMismatch(what: "initial latents", shape: initialLatents.shape, expected: latentShape)
            }
            imageLatents = initialLatents
        } else {
            imageLatents = autoencoder.encodeLatents(image, noise: &noise) * autoencoder.latentScalingFactor
        }
        let latents = scheduler.addNoise(imageLatents, noise: noise.next(shape: imageLatents.shape), at: steps[steps.startIndex])
        return DenoisingRun(unet: unet, autoencoder: autoencoder, scheduler: scheduler, steps: steps,
                            guidanceScale: settings.guidanceScale, prompt: prompt, negativePrompt: negativePrompt,
                            conditioning: nil, latents: latents, noise: noise)
    }

    /// Runs all steps and decodes: the image [1, 3, H, W] in about [−1, 1].
    public func callAsFunction(image: Tensor, prompt: Tensor, negativePrompt: Tensor?, scheduler: any Scheduler,
                               settings: DiffusionSettings = DiffusionSettings(strength: 0.8),
                               noise: PipelineNoise, initialLatents: Tensor? = nil) throws -> Tensor {
        var run = try start(image: image, prompt: prompt, negativePrompt: negativePrompt, scheduler: scheduler,
                            settings: settings, noise: noise, initialLatents: initialLatents)
        run.finish()
        return run.decode()
    }
}
