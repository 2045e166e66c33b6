// Port of diffusers 0.42.1 models/unets/unet_2d_condition.py (UNet2DConditionModel) with CrossAttnDownBlock2D,
// DownBlock2D, UNetMidBlock2DCrossAttn, UpBlock2D and CrossAttnUpBlock2D from unet_2d_blocks.py. Keys are diffusers'.
// Heads per block follow diffusers: `num_attention_heads`, else `attention_head_dim` (SD2's [5, 10, 20, 20] are
// head counts, each head 64 wide).
import Foundation
import TensorCore

/// The SD denoiser: noisy latents (‖ mask ‖ masked-image latents for inpainting) + timestep + text states →
/// epsilon or v, whichever the checkpoint was trained to predict (the scheduler's `prediction_type`).
public struct UNet2DCondition: Sendable {
    public let config: UNet2DConditionConfig
    let convIn: Conv2d
    let timeLinear1: Linear
    let timeLinear2: Linear
    let down: [DownBlock]
    let mid: MidBlock
    let up: [UpBlock]
    let normOut: GroupNorm
    let convOut: Conv2d

    struct Layer: Sendable {
        let resnet: ResnetBlock2D
        let attention: Transformer2D?
    }

    struct DownBlock: Sendable {
        let layers: [Layer]
        let downsample: Downsample2D?
    }

    struct MidBlock: Sendable {
        let first: ResnetBlock2D
        let layers: [Layer]  // attention then resnet, as (resnet, attention) pairs applied attention-first
    }

    struct UpBlock: Sendable {
        let layers: [Layer]
        let upsample: Upsample2D?
    }

    public init(config c: UNet2DConditionConfig, weights: WeightStore) throws {
        let component = weights.component
        func unsupported(_ why: String) -> WeightLoadError { .unsupported(component: component, reason: why) }
        guard c.classEmbedType == nil, c.additionEmbedType == nil, c.encoderHidDim == nil, !c.dualCrossAttention,
              c.resnetTimeScaleShift == "default", c.timeEmbeddingType == "positional", c.timeCondProjDim == nil,
              c.attentionType == "default", c.actFn == "silu", c.timeEmbeddingActFn == nil, c.timestepPostAct == nil,
              c.resnetOutScaleFactor == 1, c.midBlockScaleFactor == 1, !c.centerInputSample,
              c.timeEmbeddingDim == nil, c.crossAttentionNorm == nil
        else { throw unsupported("embedding, attention or scaling options beyond Stable Diffusion's") }
        guard c.midBlockType == "UNetMidBlock2DCrossAttn" else { throw unsupported("mid_block_type \(c.midBlockType ?? "none")") }
        let n = c.blockOutChannels.count
        guard c.downBlockTypes.count == n, c.upBlockTypes.count == n,
              c.onlyCrossAttention.perBlock(n).allSatisfy({ !$0 }), c.reverseTransformerLayersPerBlock == nil
        else { throw unsupported("block lists") }
        guard let groups = c.normNumGroups else { throw unsupported("norm_num_groups null") }
        self.config = c
        let ch = c.blockOutChannels, eps = c.normEps, temb = ch[0] * 4
        let heads = c.headsPerBlock, layers = c.layersPerBlock.perBlock(n)
        let tLayers = c.transformerLayersPerBlock.perBlock(n), context = c.crossAttentionDim.perBlock(n)
        let root = WeightScope(store: weights, prefix: "")

        convIn = try Conv2d(root.scope("conv_in"), c.inChannels, ch[0], kernel: c.convInKernel, padding: (c.convInKernel - 1) / 2)
        timeLinear1 = try Linear(root.scope("time_embedding.linear_1"), ch[0], temb)
        timeLinear2 = try Linear(root.scope("time_embedding.linear_2"), temb, temb)

        func transformer(_ w: WeightScope, _ channels: Int, _ i: Int, heads h: Int) throws -> Transformer2D {
            guard channels % h == 0 else { throw unsupported("\(channels) channels in \(h) heads") }
            return try Transformer2D(w, channels: channels, heads: h, layers: tLayers[i], contextDim: context[i],
                                     groups: groups, linearProjection: c.useLinearProjection)
        }

        var downBlocks: [DownBlock] = []
        var cin = ch[0]
        for (i, type) in c.downBlockTypes.enumerated() {
            guard type == "CrossAttnDownBlock2D" || type == "DownBlock2D" else { throw unsupported("down block \(type)") }
            let b = root.scope("down_blocks", i), cout = ch[i]
            let blockLayers = try (0..<layers[i]).map { j in
                Layer(resnet: try ResnetBlock2D(b.scope("resnets", j), in: j == 0 ? cin : cout, out: cout, tembChannels: temb,
                                                groups: groups, eps: eps),
                      attention: type == "DownBlock2D" ? nil : try transformer(b.scope("attentions", j), cout, i, heads: heads[i]))
            }
            let last = i == n - 1
            downBlocks.append(DownBlock(layers: blockLayers, downsample: last ? nil
                : try Downsample2D(b.scope("downsamplers.0"), channels: cout, padding: c.downsamplePadding)))
            cin = cout
        }
        down = downBlocks

        let m = root.scope("mid_block"), top = ch[n - 1]
        mid = MidBlock(
            first: try ResnetBlock2D(m.scope("resnets.0"), in: top, out: top, tembChannels: temb, groups: groups, eps: eps),
            layers: try (0..<1).map { j in
                Layer(resnet: try ResnetBlock2D(m.scope("resnets", j + 1), in: top, out: top, tembChannels: temb,
                                                groups: groups, eps: eps),
                      attention: try transformer(m.scope("attentions", j), top, n - 1, heads: heads[n - 1]))
            })

        let rch = Array(ch.reversed()), rheads = Array(heads.reversed()), rlayers = Array(layers.reversed())
        var upBlocks: [UpBlock] = []
        var prev = rch[0]
        for (i, type) in c.upBlockTypes.enumerated() {
            guard type == "CrossAttnUpBlock2D" || type == "UpBlock2D" else { throw unsupported("up block \(type)") }
            let b = root.scope("up_blocks", i), cout = rch[i], skipIn = rch[min(i + 1, n - 1)]
            let count = rlayers[i] + 1
            let blockLayers = try (0..<count).map { j in
                let skip = j == count - 1 ? skipIn : cout
                return Layer(resnet: try ResnetBlock2D(b.scope("resnets", j), in: (j == 0 ? prev : cout) + skip, out: cout,
                                                       tembChannels: temb, groups: groups, eps: eps),
                             attention: type == "UpBlock2D" ? nil
                                : try transformer(b.scope("attentions", j), cout, n - 1 - i, heads: rheads[i]))
            }
            let last = i == n - 1
            upBlocks.append(UpBlock(layers: blockLayers, upsample: last ? nil : try Upsample2D(b.scope("upsamplers.0"), channels: cout)))
            prev = cout
        }
        up = upBlocks

        normOut = try GroupNorm(root.scope("conv_norm_out"), groups: groups, channels: ch[0], eps: eps)
        convOut = try Conv2d(root.scope("conv_out"), ch[0], c.outChannels, kernel: c.convOutKernel, padding: (c.convOutKernel - 1) / 2)
        try weights.finish()
    }

    /// `fastKernels: false` keeps only the checkpoint's weights (no Winograd copies: less memory, slower).
    public static func load(_ folder: DiffusersFolder, component: String = "unet", variant: WeightVariant = .any,
                            fastKernels: Bool = true) throws -> UNet2DCondition {
        let config = try DiffusionConfig.load(UNet2DConditionConfig.self, from: folder.configURL(component))
        let store = try WeightStore(folder: folder, component: component, variant: variant)
        store.fastKernels = fastKernels
        return try UNet2DCondition(config: config, weights: store)
    }

    public static func load(componentFolder url: URL, variant: WeightVariant = .any,
                            fastKernels: Bool = true) throws -> UNet2DCondition {
        let config = try DiffusionConfig.load(UNet2DConditionConfig.self, from: url.appendingPathComponent("config.json"))
        let store = try WeightStore(componentFolder: url, variant: variant)
        store.fastKernels = fastKernels
        return try UNet2DCondition(config: config, weights: store)
    }

    /// Time embedding [N, 4·C0] of one timestep per batch element (`time_embedding(time_proj(t))`).
    public func timeEmbedding(_ timesteps: [Float]) -> Tensor {
        let t = timestepEmbedding(timesteps, dim: config.blockOutChannels[0], flipSinToCos: config.flipSinToCos,
                                  freqShift: Float(config.freqShift))  // [N, C0]
        return timeLinear2(timeLinear1(t).silu())
    }

    /// Model output [N, out, h, w] of `sample` [N, in, h, w] at `timestep`, attending to `context` [N, L, Dc].
    public func callAsFunction(_ sample: Tensor, timestep: Float, context: Tensor) -> Tensor {
        forward(sample, timestep: timestep, context: context, trace: nil)
    }

    /// Intermediates for parity checks: the time embedding, each down block's output and the mid block's.
    final class Trace {
        var temb: Tensor?
        var down: [Tensor] = []
        var mid: Tensor?
    }

    func forward(_ sample: Tensor, timestep: Float, context: Tensor, trace: Trace?) -> Tensor {
        let n = sample.shape[0]
        precondition(sample.shape[1] == config.inChannels && context.shape[0] == n,
                     "UNet2DCondition: sample \(sample.shape) / context \(context.shape) do not fit the model")
        let emb = timeEmbedding(Array(repeating: timestep, count: n))  // [N, 4·C0]
        trace?.temb = emb
        var h = convIn(sample)  // [N, C0, h, w]
        var skips = [h]
        for block in down {
            for layer in block.layers {
                h = layer.resnet(h, temb: emb)
                if let a = layer.attention { h = a(h, context: context) }
                skips.append(h)
            }
            if let d = block.downsample {
                h = d(h)  // [N, Ci, h/2, w/2]
                skips.append(h)
            }
            trace?.down.append(h)
        }
        h = mid.first(h, temb: emb)
        for layer in mid.layers {
            h = layer.attention!(h, context: context)
            h = layer.resnet(h, temb: emb)
        }
        trace?.mid = h
        for block in up {
            for layer in block.layers {
                h = Tensor.cat([h, skips.removeLast()], dim: 1)  // [N, C + Cskip, h, w]
                h = layer.resnet(h, temb: emb)
                if let a = layer.attention { h = a(h, context: context) }
            }
            if let u = block.upsample {
                let next = skips.last!
                h = u(h, size: (next.shape[2], next.shape[3]))  // [N, C, 2h, 2w]
            }
        }
        return convOut(normOut(h).silu())  // [N, out, h, w]
    }
}
