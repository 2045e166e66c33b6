// Port of diffusers 0.42.1 models/autoencoders/autoencoder_tiny.py (AutoencoderTiny, TAESD) with EncoderTiny /
// DecoderTiny from vae.py and AutoencoderTinyBlock from unet_2d_blocks.py. Keys are `encoder.layers.<i>` /
// `decoder.layers.<i>` where i counts every module of the nn.Sequential (activations and upsamplers included).
import Foundation
import TensorCore

/// TAESD: a small conv + ReLU autoencoder with the same latent space as the SD VAE (scaling factor 1).
public struct AutoencoderTiny: Sendable {
    public let config: AutoencoderTinyConfig
    let encoderLayers: [TinyLayer]
    let decoderLayers: [TinyLayer]

    enum TinyLayer: Sendable {
        case conv(Conv2d)
        case block(conv: [Conv2d], skip: Conv2d?)
        case relu
        case upsample(Int)
    }

    public init(config: AutoencoderTinyConfig, weights: WeightStore) throws {
        guard config.actFn == "relu", config.upsampleFn == "nearest" else {
            throw WeightLoadError.unsupported(component: weights.component, reason: "act_fn \(config.actFn), upsample \(config.upsampleFn)")
        }
        self.config = config
        let root = WeightScope(store: weights, prefix: "")
        func block(_ w: WeightScope, _ c: Int) throws -> TinyLayer {
            .block(conv: try [0, 2, 4].map { try Conv2d(w.scope("conv", $0), c, c, kernel: 3, padding: 1) }, skip: nil)
        }
        // EncoderTiny: conv_in, then per stage a stride-2 conv (bias-free) and blocks; conv_out to Z channels.
        var enc: [TinyLayer] = []
        let e = root.scope("encoder.layers"), ech = config.encoderBlockOutChannels
        for (i, blocks) in config.numEncoderBlocks.enumerated() {
            let c = ech[i]
            enc.append(.conv(i == 0
                ? try Conv2d(e.scope("\(enc.count)"), config.inChannels, c, kernel: 3, padding: 1)
                : try Conv2d(e.scope("\(enc.count)"), c, c, kernel: 3, stride: 2, padding: 1, bias: false)))
            for _ in 0..<blocks { enc.append(try block(e.scope("\(enc.count)"), c)) }
        }
        enc.append(.conv(try Conv2d(e.scope("\(enc.count)"), ech.last!, config.latentChannels, kernel: 3, padding: 1)))
        encoderLayers = enc
        // DecoderTiny: conv_in + ReLU, then per stage blocks, upsample (not last) and a conv (bias only on the last).
        var dec: [TinyLayer] = []
        let d = root.scope("decoder.layers"), dch = config.decoderBlockOutChannels
        dec.append(.conv(try Conv2d(d.scope("0"), config.latentChannels, dch[0], kernel: 3, padding: 1)))
        dec.append(.relu)
        for (i, blocks) in config.numDecoderBlocks.enumerated() {
            let c = dch[i], last = i == config.numDecoderBlocks.count - 1
            for _ in 0..<blocks { dec.append(try block(d.scope("\(dec.count)"), c)) }
            if !last { dec.append(.upsample(config.upsamplingScalingFactor)) }
            dec.append(.conv(try Conv2d(d.scope("\(dec.count)"), c, last ? config.outChannels : c, kernel: 3,
                                        padding: 1, bias: last)))
        }
        decoderLayers = dec
        try weights.finish()
    }

    public static func load(componentFolder url: URL, variant: WeightVariant = .any) throws -> AutoencoderTiny {
        let config = try DiffusionConfig.load(AutoencoderTinyConfig.self, from: url.appendingPathComponent("config.json"))
        return try AutoencoderTiny(config: config, weights: WeightStore(componentFolder: url, variant: variant))
    }

    static func run(_ layers: [TinyLayer], _ x: Tensor) -> Tensor {
        var h = x
        for layer in layers {
            switch layer {
            case let .conv(c): h = c(h)
            case .relu: h = h.relu()
            case let .upsample(f): h = h.interpolate(size: (h.shape[2] * f, h.shape[3] * f), mode: .nearest)
            case let .block(conv, skip):
                let r = conv[2](conv[1](conv[0](h).relu()).relu())
                h = (r + (skip?(h) ?? h)).relu()
            }
        }
        return h
    }

    /// Latents [N, Z, H/8, W/8] of images [N, 3, H, W] in [−1, 1] (the encoder sees them in [0, 1]).
    public func encode(_ image: Tensor) -> Tensor {
        Self.run(encoderLayers, (image + 1) / 2)
    }

    /// Images in [−1, 1] of latents: the decoder soft-clamps them to ±3 first (3·tanh(z/3)).
    public func decode(_ latents: Tensor) -> Tensor {
        Self.run(decoderLayers, (latents / 3).tanh() * 3) * 2 - 1
    }

    /// Latents to [0, 1] for 8-bit storage: z / (2·magnitude) + shift, clamped.
    public func scaleLatents(_ z: Tensor) -> Tensor {
        (z / Float(2 * config.latentMagnitude) + Float(config.latentShift)).clamp(min: 0, max: 1)
    }

    public func unscaleLatents(_ x: Tensor) -> Tensor {
        (x - Float(config.latentShift)) * Float(2 * config.latentMagnitude)
    }
}
