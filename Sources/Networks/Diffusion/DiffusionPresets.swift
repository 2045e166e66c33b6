// The configurations of the checkpoints svia runs, as their diffusers folders on the Hugging Face Hub hold them
// (stabilityai/stable-diffusion-2-inpainting, stabilityai/stable-diffusion-2, stabilityai/sd-turbo,
// madebyollin/taesd) with every key diffusers 0.42.1 fills in when it loads them.
// Tests/NetworksTests compares each preset key by key with configs written by diffusers itself.

extension UNet2DConditionConfig {
    /// The SD 2.x UNet: 865 M parameters, OpenCLIP-H context (1024), linear projections in the transformers.
    static func stableDiffusion2(inChannels: Int, sampleSize: Int) -> UNet2DConditionConfig {
        var c = UNet2DConditionConfig()
        c.sampleSize = sampleSize
        c.inChannels = inChannels
        c.attentionHeadDim = .many([5, 10, 20, 20])
        c.crossAttentionDim = .one(1024)
        c.useLinearProjection = true
        return c
    }

    /// stabilityai/stable-diffusion-2-inpainting: 9 input channels (4 latent + 1 mask + 4 masked-image latent), 512 px.
    public static let sd2Inpainting = stableDiffusion2(inChannels: 9, sampleSize: 64)
    /// stabilityai/stable-diffusion-2 (768-v): v-prediction, 768 px.
    public static let sd2 = stableDiffusion2(inChannels: 4, sampleSize: 96)
    /// stabilityai/sd-turbo: the SD 2.1 base architecture, 512 px.
    public static let sdTurbo = stableDiffusion2(inChannels: 4, sampleSize: 64)
}

extension AutoencoderKLConfig {
    /// The Stable Diffusion VAE: 8x downsampling to 4 latent channels, latents scaled by 0.18215.
    public static func stableDiffusion(sampleSize: Int) -> AutoencoderKLConfig {
        var c = AutoencoderKLConfig()
        c.downBlockTypes = Array(repeating: "DownEncoderBlock2D", count: 4)
        c.upBlockTypes = Array(repeating: "UpDecoderBlock2D", count: 4)
        c.blockOutChannels = [128, 256, 512, 512]
        c.layersPerBlock = 2
        c.sampleSize = sampleSize
        return c
    }

    public static let sd2Inpainting = stableDiffusion(sampleSize: 512)
    public static let sd2 = stableDiffusion(sampleSize: 768)
    public static let sdTurbo = stableDiffusion(sampleSize: 768)
}

extension AutoencoderTinyConfig {
    /// madebyollin/taesd: the tiny autoencoder for SD 1.x/2.x latents (diffusers' defaults).
    public static let taesd = AutoencoderTinyConfig()
}

extension CLIPTextConfig {
    /// The OpenCLIP ViT-H/14 text tower as SD 2.x uses it: 23 of its 24 layers (SD2 takes the penultimate layer).
    public static let openCLIPViTH: CLIPTextConfig = {
        var c = CLIPTextConfig()
        c.hiddenSize = 1024
        c.intermediateSize = 4096
        c.projectionDim = 512
        c.numHiddenLayers = 23
        c.numAttentionHeads = 16
        c.hiddenAct = "gelu"
        c.dropout = 0
        c.bosTokenId = 0
        c.eosTokenId = 2
        return c
    }()
}

extension SchedulerConfig {
    /// The latent-diffusion training schedule all three checkpoints share.
    static func stableDiffusion(className: String, prediction: PredictionType, spacing: TimestepSpacing) -> SchedulerConfig {
        var c = SchedulerConfig()
        c.className = className
        c.betaStart = 0.00085
        c.betaEnd = 0.012
        c.betaSchedule = .scaledLinear
        c.clipSample = false
        c.setAlphaToOne = false
        c.stepsOffset = 1
        c.predictionType = prediction
        c.timestepSpacing = spacing
        c.skipPrkSteps = true
        return c
    }

    /// stabilityai/stable-diffusion-2-inpainting ships a PNDMScheduler config (epsilon, leading spacing).
    public static let sd2Inpainting = stableDiffusion(className: "PNDMScheduler", prediction: .epsilon, spacing: .leading)
    /// stabilityai/stable-diffusion-2 ships a PNDMScheduler config with v-prediction.
    public static let sd2 = stableDiffusion(className: "PNDMScheduler", prediction: .vPrediction, spacing: .leading)
    /// stabilityai/sd-turbo ships an EulerDiscreteScheduler config with trailing spacing (`EulerDiscreteScheduler`).
    public static let sdTurbo: SchedulerConfig = {
        var c = stableDiffusion(className: "EulerDiscreteScheduler", prediction: .epsilon, spacing: .trailing)
        c.interpolationType = "linear"
        c.timestepType = "discrete"
        c.useKarrasSigmas = false
        c.useExponentialSigmas = false
        c.useBetaSigmas = false
        c.finalSigmasType = "zero"
        return c
    }()
}

/// Everything svia needs to know about one checkpoint before opening its weights.
public struct StableDiffusionPreset: Sendable {
    /// Hugging Face Hub id.
    public let repository: String
    public let unet: UNet2DConditionConfig
    public let vae: AutoencoderKLConfig
    public let textEncoder: CLIPTextConfig
    /// The scheduler configuration the checkpoint ships.
    public let scheduler: SchedulerConfig
    /// The pipeline class in model_index.json.
    public let pipeline: String
    /// The tokenizer pads with this id: 0 ("!") for SD 2.x, as special_tokens_map.json sets it.
    public let padTokenId: Int

    /// Pixels per latent cell.
    public var vaeScaleFactor: Int { 1 << (vae.blockOutChannels.count - 1) }
    /// Default image side in pixels.
    public var defaultImageSize: Int { (unet.sampleSize ?? 64) * vaeScaleFactor }

    public static let sd2Inpainting = StableDiffusionPreset(
        repository: "stabilityai/stable-diffusion-2-inpainting", unet: .sd2Inpainting, vae: .sd2Inpainting,
        textEncoder: .openCLIPViTH, scheduler: .sd2Inpainting, pipeline: "StableDiffusionInpaintPipeline", padTokenId: 0)

    public static let sd2 = StableDiffusionPreset(
        repository: "stabilityai/stable-diffusion-2", unet: .sd2, vae: .sd2, textEncoder: .openCLIPViTH,
        scheduler: .sd2, pipeline: "StableDiffusionPipeline", padTokenId: 0)

    public static let sdTurbo = StableDiffusionPreset(
        repository: "stabilityai/sd-turbo", unet: .sdTurbo, vae: .sdTurbo, textEncoder: .openCLIPViTH,
        scheduler: .sdTurbo, pipeline: "StableDiffusionPipeline", padTokenId: 0)
}
