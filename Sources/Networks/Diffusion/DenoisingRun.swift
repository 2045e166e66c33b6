// The parts shared by the inpainting and img2img pipelines (diffusers 0.42.1
// pipelines/stable_diffusion/pipeline_stable_diffusion_{inpaint,img2img}.py): the noise source, the latent
// autoencoder, and the guided denoising loop as a sequence of steps the caller iterates.
import Foundation
import TensorCore

/// The unit Gaussian noise a run consumes, in the order diffusers' pipelines draw it (initial noise, VAE posterior
/// samples, one draw per scheduler step that needs noise): from a seed, or supplied tensors (e.g. the draws a
/// PyTorch run recorded) used one per request.
public struct PipelineNoise: Sendable {
    enum Source: Sendable {
        case seeded(GaussianNoise)
        case supplied([Tensor])
    }
    var source: Source
    /// Number of draws made so far.
    public private(set) var draws = 0

    public static func seeded(_ seed: UInt64) -> PipelineNoise { PipelineNoise(source: .seeded(GaussianNoise(seed: seed))) }
    public static func supplied(_ tensors: [Tensor]) -> PipelineNoise { PipelineNoise(source: .supplied(tensors)) }

    public mutating func next(shape: [Int]) -> Tensor {
        defer { draws += 1 }
        switch source {
        case var .seeded(rng):
            let t = rng.tensor(shape: shape)
            source = .seeded(rng)
            return t
        case let .supplied(list):
            precondition(draws < list.count, "PipelineNoise: draw \(draws) requested, \(list.count) supplied")
            precondition(list[draws].shape == shape,
                         "PipelineNoise: draw \(draws) has shape \(list[draws].shape), the run needs \(shape)")
            return list[draws]
        }
    }
}

/// An image ⇄ latent autoencoder usable by the pipelines (AutoencoderKL or TAESD).
public protocol LatentAutoencoder: Sendable {
    /// Latents are multiplied by this before the UNet sees them (0.18215 for SD's VAE, 1 for TAESD).
    var latentScalingFactor: Float { get }
    /// Pixels per latent along each axis.
    var scaleFactor: Int { get }
    /// Unscaled latents of images [N, 3, H, W] in [−1, 1]; a stochastic encoder samples with `noise`.
    func encodeLatents(_ image: Tensor, noise: inout PipelineNoise) -> Tensor
    /// Images [N, 3, H, W] in about [−1, 1] of unscaled latents.
    func decode(_ latents: Tensor) -> Tensor
    /// Consumes the noise `encodeLatents` would draw for images of `imageShape` [N, 3, H, W], without encoding.
    /// diffusers' inpainting pipeline encodes the masked image even for a 4-channel UNet that never sees it;
    /// skipping the work but not the draw keeps the rest of such a run on the noise diffusers would use.
    func skipEncodingNoise(imageShape: [Int], noise: inout PipelineNoise)
}

extension LatentAutoencoder {
    /// A deterministic encoder draws nothing.
    public func skipEncodingNoise(imageShape: [Int], noise: inout PipelineNoise) {}
}

extension AutoencoderKL: LatentAutoencoder {
    public var latentScalingFactor: Float { Float(config.scalingFactor) }
    /// diffusers' `retrieve_latents(..., sample_mode="sample")`: mean + std · noise.
    public func encodeLatents(_ image: Tensor, noise: inout PipelineNoise) -> Tensor {
        let posterior = encode(image)
        return posterior.sample(noise: noise.next(shape: posterior.mean.shape))
    }

    /// One draw the shape of the posterior's mean: [N, latent channels, H / f, W / f].
    public func skipEncodingNoise(imageShape: [Int], noise: inout PipelineNoise) {
        precondition(imageShape.count == 4, "skipEncodingNoise: image shape \(imageShape) is not [N, 3, H, W]")
        let f = scaleFactor
        _ = noise.next(shape: [imageShape[0], config.latentChannels, imageShape[2] / f, imageShape[3] / f])
    }
}

extension AutoencoderTiny: LatentAutoencoder {
    public var latentScalingFactor: Float { Float(config.scalingFactor) }
    public var scaleFactor: Int { 1 << (config.encoderBlockOutChannels.count - 1) }
    public func encodeLatents(_ image: Tensor, noise: inout PipelineNoise) -> Tensor { encode(image) }
}

/// Latent-space inpainting for a UNet without mask inputs (diffusers' `StableDiffusionInpaintPipeline` with a
/// 4-channel UNet): after each step the latents outside the mask are replaced by the image's latents noised to the
/// next step's level with the run's initial noise, and after the last step by the clean image latents.
public struct LatentBlend: Sendable {
    /// [1, 1, h, w] at latent size: 1 where the run repaints, 0 where the image is kept.
    public let mask: Tensor
    /// The image's (scaled) latents [1, C, h, w].
    public let imageLatents: Tensor
    /// The run's initial unit Gaussian noise [1, C, h, w] (the same draw the starting latents were made from).
    public let noise: Tensor

    public init(mask: Tensor, imageLatents: Tensor, noise: Tensor) {
        precondition(mask.rank == 4 && mask.shape[0] == 1 && mask.shape[1] == 1
                     && Array(mask.shape[2...]) == Array(imageLatents.shape[2...]),
                     "LatentBlend: mask \(mask.shape) vs latents \(imageLatents.shape)")
        precondition(noise.shape == imageLatents.shape, "LatentBlend: noise \(noise.shape) vs latents \(imageLatents.shape)")
        self.mask = mask
        self.imageLatents = imageLatents
        self.noise = noise
    }

    /// `latents` inside the mask, the image latents at the level of `next` (clean when nil) outside it.
    func apply(to latents: Tensor, next: DenoisingStep?, scheduler: any Scheduler) -> Tensor {
        let known = next.map { scheduler.addNoise(imageLatents, noise: noise, at: $0) } ?? imageLatents
        return (1 - mask) * known + mask * latents
    }
}

/// Where a run is after one step.
public struct DenoisingProgress: Sendable {
    public let step: DenoisingStep
    /// Latents after the step [1, 4, h, w] (scaled, as the scheduler holds them).
    public let latents: Tensor
}

/// A guided denoising loop: each `next()` evaluates the UNet once (conditional and unconditional as one batch of
/// 2 when guidance is on) and takes one scheduler step. Stop iterating at any time to cancel; `decode()` turns the
/// current latents into an image.
public struct DenoisingRun: IteratorProtocol, Sendable {
    public let unet: UNet2DCondition
    public let autoencoder: any LatentAutoencoder
    public let scheduler: any Scheduler
    public let steps: DenoisingSteps
    public let guidanceScale: Float
    /// [2, L, D] (negative, positive) with guidance, [1, L, D] without.
    let context: Tensor
    /// Extra UNet input channels (inpainting: mask ‖ masked-image latents), already batched like `context`.
    let conditioning: Tensor?
    /// Latent-space inpainting applied after each scheduler step (4-channel UNets), nil otherwise.
    public let blend: LatentBlend?
    public private(set) var latents: Tensor
    /// The scheduler's estimate of the clean latents at the last step taken (before any blend), nil before the
    /// first step: a cheap preview, or a starting point for the next frame of a video.
    public private(set) var predOriginalSample: Tensor?
    public private(set) var position: Int
    var noise: PipelineNoise

    init(unet: UNet2DCondition, autoencoder: any LatentAutoencoder, scheduler: any Scheduler, steps: DenoisingSteps,
         guidanceScale: Float, prompt: Tensor, negativePrompt: Tensor?, conditioning: Tensor?, latents: Tensor,
         noise: PipelineNoise, blend: LatentBlend? = nil) {
        self.unet = unet
        self.autoencoder = autoencoder
        self.scheduler = scheduler
        self.steps = steps
        self.guidanceScale = guidanceScale
        let guided = guidanceScale > 1
        if guided {
            let negative = negativePrompt ?? Tensor.zeros(prompt.shape)
            context = Tensor.cat([negative, prompt], dim: 0)
            self.conditioning = conditioning.map { Tensor.cat([$0, $0], dim: 0) }
        } else {
            context = prompt
            self.conditioning = conditioning
        }
        self.blend = blend
        self.latents = latents
        self.position = steps.startIndex
        self.noise = noise
    }

    public var isFinished: Bool { position == steps.endIndex }

    public mutating func next() -> DenoisingProgress? {
        guard position < steps.endIndex else { return nil }
        let step = steps[position]
        let guided = guidanceScale > 1
        var input = guided ? Tensor.cat([latents, latents], dim: 0) : latents  // [B, 4, h, w]
        input = scheduler.scaleModelInput(input, at: step)
        if let conditioning { input = Tensor.cat([input, conditioning], dim: 1) }  // [B, 9, h, w]
        var prediction = unet(input, timestep: Float(step.timestep), context: context)  // [B, 4, h, w]
        if guided {
            let parts = prediction.chunked(2, dim: 0)
            prediction = parts[0] + guidanceScale * (parts[1] - parts[0])
        }
        let stepNoise = scheduler.needsNoise(at: step) ? noise.next(shape: latents.shape) : nil
        let out = scheduler.step(prediction, at: step, sample: latents, noise: stepNoise)
        latents = out.prevSample
        predOriginalSample = out.predOriginalSample
        position += 1
        if let blend {
            latents = blend.apply(to: latents, next: position < steps.endIndex ? steps[position] : nil, scheduler: scheduler)
        }
        return DenoisingProgress(step: step, latents: latents)
    }

    /// Runs the remaining steps.
    public mutating func finish() {
        while next() != nil {}
    }

    /// The image [1, 3, H, W] in about [−1, 1] of the current latents.
    public func decode() -> Tensor {
        autoencoder.decode(latents / autoencoder.latentScalingFactor)
    }
}

/// Conversions between the pipelines' tensors and 8-bit pixels.
public enum DiffusionImage {
    /// [1, 3, H, W] in [−1, 1] of interleaved RGB bytes (as diffusers' VaeImageProcessor: x/255 · 2 − 1).
    public static func tensor(rgb bytes: [UInt8], width: Int, height: Int) -> Tensor {
        bytes.withUnsafeBufferPointer {
            Tensor(rgb: $0, height: height, width: width, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
        }
    }

    /// [1, 1, H, W] in [0, 1] of one byte per pixel (255 = repaint).
    public static func mask(gray bytes: [UInt8], width: Int, height: Int) -> Tensor {
        precondition(bytes.count == width * height, "DiffusionImage.mask: \(bytes.count) bytes for \(width)×\(height)")
        return Tensor(shape: [1, 1, height, width], scalars: bytes.map { Float($0) / 255 })
    }

    /// Interleaved RGB bytes of an image in [−1, 1] (as diffusers' postprocess: (x/2 + 0.5) clamped, ·255, rounded).
    public static func rgb(_ image: Tensor) -> [UInt8] {
        image.rgbBytes(mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
    }
}
