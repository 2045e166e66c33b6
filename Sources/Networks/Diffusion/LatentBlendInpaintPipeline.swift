// Port of diffusers 0.42.1 pipelines/stable_diffusion/pipeline_stable_diffusion_inpaint.py for a UNet with 4 input
// channels (`num_channels_unet == 4`, e.g. stabilityai/sd-turbo): the UNet never sees the mask; instead, after
// every scheduler step the latents outside the mask are reset to the image's latents noised to the next step's level
// (`init_latents_proper`, made with the run's initial noise), and after the last step to the clean image latents.
// Prompts come in as embeddings (CLIPTextEncoder output).
import Foundation
import TensorCore

/// Inpainting with a plain text-to-image UNet by blending in latent space (see `LatentBlend`).
public struct LatentBlendInpaintPipeline: InpaintingPipeline {
    public let unet: UNet2DCondition
    public let autoencoder: any LatentAutoencoder

    public init(unet: UNet2DCondition, autoencoder: any LatentAutoencoder) throws {
        guard unet.config.inChannels == 4, unet.config.outChannels == 4 else {
            throw PipelineError.wrongUNetChannels(expected: 4, found: unet.config.inChannels)
        }
        self.unet = unet
        self.autoencoder = autoencoder
    }

    /// Starts a run. `image` [1, 3, H, W] in [−1, 1]; `mask` [1, 1, H, W] in [0, 1], repainted where ≥ 0.5
    /// (binarised, then taken at latent size by nearest neighbour); `prompt` and `negativePrompt` [1, L, D] text
    /// states (nil guides against zeros). Outside the mask the result keeps the image's latents exactly (the
    /// decoded image only approximately: the autoencoder is lossy).
    ///
    /// `initialLatents` (scaled latents [1, 4, H/f, W/f], e.g. the previous video frame's result): with strength
    /// < 1 the run starts from these noised to the first step's level instead of from the image's latents; the
    /// image's latents are still what is blended in outside the mask. Ignored at strength 1 (pure noise).
    ///
    /// Noise is drawn as diffusers draws it: the image posterior sample (the latents blended in, drawn whether or
    /// not `initialLatents` is given), the initial noise (also the noise of every blend), a masked-image posterior
    /// sample that diffusers draws but never uses (drawn and discarded here, without encoding), then one draw per
    /// step that needs noise. A deterministic autoencoder (TAESD) draws neither posterior sample.
    public func start(image: Tensor, mask: Tensor, prompt: Tensor, negativePrompt: Tensor?, scheduler: any Scheduler,
                      settings: DiffusionSettings = DiffusionSettings(), noise: PipelineNoise,
                      initialLatents: Tensor? = nil) throws -> DenoisingRun {
        let inputs = try InpaintInputs(image: image, mask: mask, unet: unet, autoencoder: autoencoder)
        var noise = noise
        let steps = try scheduler.steps(strength: settings.strength)
        let imageLatents = autoencoder.encodeLatents(image, noise: &noise) * autoencoder.latentScalingFactor
        guard imageLatents.shape == inputs.latentShape else {
            throw PipelineError.shapeMismatch(what: "image latents", shape: imageLatents.shape, expected: inputs.latentShape)
        }
        let initialNoise = noise.next(shape: inputs.latentShape)
        let latents: Tensor
        if settings.strength >= 1 {
            latents = initialNoise * scheduler.initNoiseSigma
        } else {
            let start = try initialLatents.map(inputs.checked(initialLatents:)) ?? imageLatents
            latents = scheduler.addNoise(start, noise: initialNoise, at: steps[steps.startIndex])
        }
        autoencoder.skipEncodingNoise(imageShape: image.shape, noise: &noise)
        return DenoisingRun(unet: unet, autoencoder: autoencoder, scheduler: scheduler, steps: steps,
                            guidanceScale: settings.guidanceScale, prompt: prompt, negativePrompt: negativePrompt,
                            conditioning: nil, latents: latents, noise: noise,
                            blend: LatentBlend(mask: inputs.latentMask, imageLatents: imageLatents, noise: initialNoise))
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
