// Port of diffusers 0.42.1 models/autoencoders/autoencoder_kl.py (AutoencoderKL, tiled encode/decode) and vae.py
// (Encoder, Decoder, DiagonalGaussianDistribution). Keys are diffusers'; checkpoints saved before diffusers 0.14 name
// the mid-block attention query/key/value/proj_attn, which `AutoencoderKL.renames` maps.
import Foundation
import TensorCore

/// Splitting large inputs into overlapping tiles, as diffusers' `enable_tiling()`: tiles of `sampleTile` pixels
/// (`latentTile` latents), overlapping by `overlap`, blended linearly. Memory then depends on the tile size only.
public struct VAETiling: Sendable, Equatable {
    public var sampleTile: Int
    public var latentTile: Int
    public var overlap: Double

    public init(sampleTile: Int, latentTile: Int, overlap: Double = 0.25) {
        self.sampleTile = sampleTile
        self.latentTile = latentTile
        self.overlap = overlap
    }

    /// diffusers' defaults: `sample_size` pixels, that over the downscale factor in latents, 25 % overlap.
    public init(config: AutoencoderKLConfig) {
        let factor = 1 << (config.blockOutChannels.count - 1)
        self.init(sampleTile: config.sampleSize, latentTile: config.sampleSize / factor)
    }
}

/// The VAE's posterior: mean and log-variance (clamped to [−30, 20]) of the latent Gaussian.
public struct DiagonalGaussian: Sendable {
    public let mean: Tensor  // [N, Z, h, w]
    public let logvar: Tensor  // [N, Z, h, w]

    /// `moments` [N, 2Z, h, w] as the quant conv writes them (mean ‖ logvar).
    public init(moments: Tensor) {
        let halves = moments.chunked(2, dim: 1)
        mean = halves[0].contiguous()
        logvar = halves[1].clamp(min: -30, max: 20)
    }

    public var std: Tensor { (logvar * 0.5).exp() }

    /// mean + std · noise, with `noise` unit Gaussian of the mean's shape.
    public func sample(noise: Tensor) -> Tensor {
        precondition(noise.shape == mean.shape, "DiagonalGaussian.sample: noise \(noise.shape) for \(mean.shape)")
        return mean + std * noise
    }
}

/// AutoencoderKL: image [N, 3, H, W] in [−1, 1] ⇄ latents [N, Z, H/f, W/f] (unscaled; multiply by
/// `config.scalingFactor` for the UNet).
public struct AutoencoderKL: Sendable {
    public let config: AutoencoderKLConfig
    /// Tiled encode/decode for inputs larger than a tile; nil runs whole images.
    public var tiling: VAETiling?
    let encoder: VAEEncoder
    let quantConv: Conv2d?
    let postQuantConv: Conv2d?
    let decoder: VAEDecoder

    /// Legacy attention names (diffusers < 0.14 and converted LDM checkpoints) → current ones.
    public static let renames = [
        WeightRename(".attentions.0.query.", ".attentions.0.to_q."),
        WeightRename(".attentions.0.key.", ".attentions.0.to_k."),
        WeightRename(".attentions.0.value.", ".attentions.0.to_v."),
        WeightRename(".attentions.0.proj_attn.", ".attentions.0.to_out.0."),
    ]

    public init(config: AutoencoderKLConfig, weights: WeightStore, tiling: VAETiling? = nil) throws {
        guard config.downBlockTypes.allSatisfy({ $0 == "DownEncoderBlock2D" }),
              config.upBlockTypes.allSatisfy({ $0 == "UpDecoderBlock2D" }), config.actFn == "silu" else {
            throw WeightLoadError.unsupported(component: weights.component, reason: "block types or activation")
        }
        self.config = config
        self.tiling = tiling
        let z = config.latentChannels
        let root = WeightScope(store: weights, prefix: "")
        encoder = try VAEEncoder(root.scope("encoder"), config: config)
        quantConv = config.useQuantConv ? try Conv2d(root.scope("quant_conv"), 2 * z, 2 * z, kernel: 1) : nil
        postQuantConv = config.usePostQuantConv ? try Conv2d(root.scope("post_quant_conv"), z, z, kernel: 1) : nil
        decoder = try VAEDecoder(root.scope("decoder"), config: config)
        try weights.finish()
    }

    public static func load(_ folder: DiffusersFolder, component: String = "vae", variant: WeightVariant = .any,
                            tiling: VAETiling? = nil) throws -> AutoencoderKL {
        let config = try DiffusionConfig.load(AutoencoderKLConfig.self, from: folder.configURL(component))
        let store = try WeightStore(folder: folder, component: component, variant: variant, renames: renames)
        return try AutoencoderKL(config: config, weights: store, tiling: tiling)
    }

    public static func load(componentFolder url: URL, variant: WeightVariant = .any,
                            tiling: VAETiling? = nil) throws -> AutoencoderKL {
        let config = try DiffusionConfig.load(AutoencoderKLConfig.self, from: url.appendingPathComponent("config.json"))
        let store = try WeightStore(componentFolder: url, variant: variant, renames: renames)
        return try AutoencoderKL(config: config, weights: store, tiling: tiling)
    }

    /// Spatial downscale factor between images and latents.
    public var scaleFactor: Int { 1 << (config.blockOutChannels.count - 1) }

    /// The latent distribution of images [N, 3, H, W].
    public func encode(_ image: Tensor) -> DiagonalGaussian {
        DiagonalGaussian(moments: encodeMoments(image))
    }

    /// Quant-conv output [N, 2Z, H/f, W/f] (diffusers `_encode`).
    public func encodeMoments(_ image: Tensor) -> Tensor {
        if let t = tiling, image.shape[2] > t.sampleTile || image.shape[3] > t.sampleTile {
            let overlapSize = Int(Double(t.sampleTile) * (1 - t.overlap))
            return Self.tiled(image, step: overlapSize, tile: t.sampleTile, blend: Int(Double(t.latentTile) * t.overlap),
                              keep: t.latentTile - Int(Double(t.latentTile) * t.overlap), run: encodeTile)
        }
        return encodeTile(image)
    }

    func encodeTile(_ x: Tensor) -> Tensor {
        let h = encoder(x)  // [N, 2Z, H/f, W/f]
        return quantConv?(h) ?? h
    }

    /// Images [N, 3, H, W] (about [−1, 1]) of unscaled latents [N, Z, h, w].
    public func decode(_ latents: Tensor) -> Tensor {
        if let t = tiling, latents.shape[2] > t.latentTile || latents.shape[3] > t.latentTile {
            let overlapSize = Int(Double(t.latentTile) * (1 - t.overlap))
            return Self.tiled(latents, step: overlapSize, tile: t.latentTile, blend: Int(Double(t.sampleTile) * t.overlap),
                              keep: t.sampleTile - Int(Double(t.sampleTile) * t.overlap), run: decodeTile)
        }
        return decodeTile(latents)
    }

    func decodeTile(_ z: Tensor) -> Tensor {
        decoder(postQuantConv?(z) ?? z)
    }

    /// diffusers' tiling: tiles start every `step` along each axis; each output tile is blended in place with the
    /// (already blended) tile above and to its left over `blend` rows/columns, then cropped to `keep`.
    static func tiled(_ x: Tensor, step: Int, tile: Int, blend: Int, keep: Int, run: (Tensor) -> Tensor) -> Tensor {
        let h = x.shape[2], w = x.shape[3]
        var rows: [[Tensor]] = []
        for i in stride(from: 0, to: h, by: step) {
            rows.append(stride(from: 0, to: w, by: step).map { j in
                run(x.narrowed(dim: 2, start: i, length: min(tile, h - i))
                    .narrowed(dim: 3, start: j, length: min(tile, w - j)).contiguous())
            })
        }
        var resultRows: [Tensor] = []
        for i in rows.indices {
            var row: [Tensor] = []
            for j in rows[i].indices {
                if i > 0 { rows[i][j] = blendEdge(rows[i - 1][j], rows[i][j], extent: blend, dim: 2) }
                if j > 0 { rows[i][j] = blendEdge(rows[i][j - 1], rows[i][j], extent: blend, dim: 3) }
                let t = rows[i][j]
                row.append(t.narrowed(dim: 2, start: 0, length: min(keep, t.shape[2]))
                    .narrowed(dim: 3, start: 0, length: min(keep, t.shape[3])))
            }
            resultRows.append(Tensor.cat(row, dim: 3))
        }
        return Tensor.cat(resultRows, dim: 2)
    }

    /// b's first `extent` rows (dim 2) or columns (dim 3) faded in from the last ones of a: a·(1 − y/e) + b·y/e.
    static func blendEdge(_ a: Tensor, _ b: Tensor, extent: Int, dim: Int) -> Tensor {
        let e = min(a.shape[dim], b.shape[dim], extent)
        guard e > 0 else { return b }
        var out = b.contiguous()
        let a = a.contiguous()
        let n = b.shape[0] * b.shape[1], bh = b.shape[2], bw = b.shape[3], ah = a.shape[2], aw = a.shape[3]
        a.withUnsafeBufferPointer { pa in
            out.withUnsafeMutableBufferPointer { pb in
                for p in 0..<n {
                    for k in 0..<e {
                        let wb = Float(Double(k) / Double(e)), wa = Float(1 - Double(k) / Double(e))
                        if dim == 2 {
                            for x in 0..<bw {
                                let bi = (p * bh + k) * bw + x, ai = (p * ah + ah - e + k) * aw + x
                                pb[bi] = pa[ai] * wa + pb[bi] * wb
                            }
                        } else {
                            for y in 0..<bh {
                                let bi = (p * bh + y) * bw + k, ai = (p * ah + y) * aw + aw - e + k
                                pb[bi] = pa[ai] * wa + pb[bi] * wb
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// UNetMidBlock2D as the VAE uses it: resnet, single-head attention (when configured), resnet; no time embedding.
struct VAEMidBlock: Sendable {
    let resnets: [ResnetBlock2D]
    let attention: SpatialAttention?

    init(_ w: WeightScope, channels c: Int, groups: Int, addAttention: Bool) throws {
        resnets = try (0..<2).map {
            try ResnetBlock2D(w.scope("resnets", $0), in: c, out: c, tembChannels: nil, groups: groups, eps: 1e-6)
        }
        attention = addAttention ? try SpatialAttention(w.scope("attentions.0"), channels: c, heads: 1, groups: groups, eps: 1e-6) : nil
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = resnets[0](x)
        if let attention { h = attention(h) }
        return resnets[1](h)
    }
}

/// vae.py `Encoder`: conv_in, DownEncoderBlock2Ds, mid block, GroupNorm → SiLU → conv_out to 2Z channels.
struct VAEEncoder: Sendable {
    let convIn: Conv2d
    let down: [(resnets: [ResnetBlock2D], downsample: Downsample2D?)]
    let mid: VAEMidBlock
    let normOut: GroupNorm
    let convOut: Conv2d

    init(_ w: WeightScope, config: AutoencoderKLConfig) throws {
        let ch = config.blockOutChannels, g = config.normNumGroups
        convIn = try Conv2d(w.scope("conv_in"), config.inChannels, ch[0], kernel: 3, padding: 1)
        var blocks: [(resnets: [ResnetBlock2D], downsample: Downsample2D?)] = []
        var cin = ch[0]
        for (i, cout) in ch.enumerated() {
            let b = w.scope("down_blocks", i)
            let resnets = try (0..<config.layersPerBlock).map { j -> ResnetBlock2D in
                defer { cin = cout }
                return try ResnetBlock2D(b.scope("resnets", j), in: j == 0 ? cin : cout, out: cout, tembChannels: nil,
                                         groups: g, eps: 1e-6)
            }
            let last = i == ch.count - 1
            blocks.append((resnets, last ? nil : try Downsample2D(b.scope("downsamplers.0"), channels: cout, padding: 0)))
        }
        down = blocks
        mid = try VAEMidBlock(w.scope("mid_block"), channels: ch.last!, groups: g, addAttention: config.midBlockAddAttention)
        normOut = try GroupNorm(w.scope("conv_norm_out"), groups: g, channels: ch.last!, eps: 1e-6)
        convOut = try Conv2d(w.scope("conv_out"), ch.last!, 2 * config.latentChannels, kernel: 3, padding: 1)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = convIn(x)  // [N, C0, H, W]
        for block in down {
            for r in block.resnets { h = r(h) }
            if let d = block.downsample { h = d(h) }  // [N, Ci, H/2^i, W/2^i]
        }
        h = mid(h)
        return convOut(normOut(h).silu())  // [N, 2Z, H/f, W/f]
    }

    /// Output of the first down block (for parity tests).
    func firstDownBlock(_ x: Tensor) -> Tensor {
        var h = convIn(x)
        for r in down[0].resnets { h = r(h) }
        return down[0].downsample?(h) ?? h
    }
}

/// vae.py `Decoder`: conv_in, mid block, UpDecoderBlock2Ds (layers + 1 resnets each), GroupNorm → SiLU → conv_out.
struct VAEDecoder: Sendable {
    let convIn: Conv2d
    let mid: VAEMidBlock
    let up: [(resnets: [ResnetBlock2D], upsample: Upsample2D?)]
    let normOut: GroupNorm
    let convOut: Conv2d

    init(_ w: WeightScope, config: AutoencoderKLConfig) throws {
        let ch = Array(config.blockOutChannels.reversed()), g = config.normNumGroups
        convIn = try Conv2d(w.scope("conv_in"), config.latentChannels, ch[0], kernel: 3, padding: 1)
        mid = try VAEMidBlock(w.scope("mid_block"), channels: ch[0], groups: g, addAttention: config.midBlockAddAttention)
        var blocks: [(resnets: [ResnetBlock2D], upsample: Upsample2D?)] = []
        var cin = ch[0]
        for (i, cout) in ch.enumerated() {
            let b = w.scope("up_blocks", i)
            let resnets = try (0...config.layersPerBlock).map { j -> ResnetBlock2D in
                defer { cin = cout }
                return try ResnetBlock2D(b.scope("resnets", j), in: j == 0 ? cin : cout, out: cout, tembChannels: nil,
                                         groups: g, eps: 1e-6)
            }
            let last = i == ch.count - 1
            blocks.append((resnets, last ? nil : try Upsample2D(b.scope("upsamplers.0"), channels: cout)))
        }
        up = blocks
        normOut = try GroupNorm(w.scope("conv_norm_out"), groups: g, channels: ch.last!, eps: 1e-6)
        convOut = try Conv2d(w.scope("conv_out"), ch.last!, config.outChannels, kernel: 3, padding: 1)
    }

    func callAsFunction(_ z: Tensor) -> Tensor {
        var h = mid(convIn(z))  // [N, Cmax, h, w]
        for block in up {
            for r in block.resnets { h = r(h) }
            if let u = block.upsample { h = u(h) }  // [N, Ci, 2h, 2w]
        }
        return convOut(normOut(h).silu())  // [N, 3, H, W]
    }

    /// Output of the mid block (for parity tests).
    func midBlock(_ z: Tensor) -> Tensor { mid(convIn(z)) }
}
