// Blocks shared by the UNet and the VAE, ported from diffusers 0.42.1 models/resnet.py (ResnetBlock2D,
// Downsample2D, Upsample2D), attention_processor.py (Attention with AttnProcessor2_0), attention.py
// (BasicTransformerBlock, FeedForward with GEGLU), transformers/transformer_2d.py (Transformer2DModel) and
// embeddings.py (get_timestep_embedding, TimestepEmbedding). Keys are diffusers' own.
import Foundation
import TensorCore

/// ResnetBlock2D: GroupNorm → SiLU → conv3x3 (+ projected time embedding) → GroupNorm → SiLU → conv3x3, plus a
/// 1x1 `conv_shortcut` when the channel count changes.
struct ResnetBlock2D: Sendable {
    let norm1: GroupNorm
    let conv1: Conv2d
    let timeEmbProj: Linear?
    let norm2: GroupNorm
    let conv2: Conv2d
    let convShortcut: Conv2d?

    init(_ w: WeightScope, in cin: Int, out cout: Int, tembChannels: Int?, groups: Int, eps: Double) throws {
        norm1 = try GroupNorm(w.scope("norm1"), groups: groups, channels: cin, eps: eps)
        conv1 = try Conv2d(w.scope("conv1"), cin, cout, kernel: 3, padding: 1)
        timeEmbProj = try tembChannels.map { try Linear(w.scope("time_emb_proj"), $0, cout) }
        norm2 = try GroupNorm(w.scope("norm2"), groups: groups, channels: cout, eps: eps)
        conv2 = try Conv2d(w.scope("conv2"), cout, cout, kernel: 3, padding: 1)
        convShortcut = cin == cout ? nil : try Conv2d(w.scope("conv_shortcut"), cin, cout, kernel: 1)
    }

    /// x [N, Cin, H, W], temb [N, T] (SiLU not yet applied) → [N, Cout, H, W].
    func callAsFunction(_ x: Tensor, temb: Tensor? = nil) -> Tensor {
        var h = conv1(norm1(x).silu())  // [N, Cout, H, W]
        if let proj = timeEmbProj, let temb {
            let t = proj(temb.silu())  // [N, Cout]
            h = h + t.reshaped([t.shape[0], t.shape[1], 1, 1])
        }
        h = conv2(norm2(h).silu())
        return (convShortcut?(x) ?? x) + h
    }
}

/// Downsample2D with a conv: stride 2, padding 1 (UNet), or padding 0 after a (0, 1, 0, 1) zero pad (VAE encoder).
struct Downsample2D: Sendable {
    let conv: Conv2d
    let asymmetricPad: Bool
    init(_ w: WeightScope, channels: Int, padding: Int) throws {
        conv = try Conv2d(w.scope("conv"), channels, channels, kernel: 3, stride: 2, padding: padding)
        asymmetricPad = padding == 0
    }
    func callAsFunction(_ x: Tensor) -> Tensor {
        conv(asymmetricPad ? x.padded([0, 1, 0, 1]) : x)  // [N, C, H/2, W/2]
    }
}

/// Upsample2D: nearest-neighbour to `size` (twice the input by default), then conv3x3.
struct Upsample2D: Sendable {
    let conv: Conv2d
    init(_ w: WeightScope, channels: Int) throws {
        conv = try Conv2d(w.scope("conv"), channels, channels, kernel: 3, padding: 1)
    }
    func callAsFunction(_ x: Tensor, size: (Int, Int)? = nil) -> Tensor {
        conv(x.interpolate(size: size ?? (x.shape[2] * 2, x.shape[3] * 2), mode: .nearest))  // [N, C, 2H, 2W]
    }
}

/// diffusers `Attention` used on feature maps (the VAE's mid block): GroupNorm, one or more heads, residual.
struct SpatialAttention: Sendable {
    let heads: Int
    let groupNorm: GroupNorm
    let toQ: Linear
    let toK: Linear
    let toV: Linear
    let toOut: Linear

    init(_ w: WeightScope, channels: Int, heads: Int, groups: Int, eps: Double) throws {
        self.heads = heads
        groupNorm = try GroupNorm(w.scope("group_norm"), groups: groups, channels: channels, eps: eps)
        toQ = try Linear(w.scope("to_q"), channels, channels)
        toK = try Linear(w.scope("to_k"), channels, channels)
        toV = try Linear(w.scope("to_v"), channels, channels)
        toOut = try Linear(w.scope("to_out.0"), channels, channels)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3]
        let tokens = groupNorm(x).reshaped([n, c, h * wd]).transposed(1, 2)  // [N, HW, C]
        let a = multiHeadAttention(q: toQ(tokens), k: toK(tokens), v: toV(tokens), heads: heads)  // [N, HW, C]
        return x + toOut(a).transposed(1, 2).reshaped([n, c, h, wd])
    }
}

/// Transformer2DModel (continuous input): GroupNorm → proj_in → transformer blocks → proj_out, plus the input.
/// `proj_in`/`proj_out` are linear layers with `use_linear_projection` (SD2), 1x1 convs otherwise (SD1).
struct Transformer2D: Sendable {
    let norm: GroupNorm
    let linearProjection: Bool
    let projIn: Tensor  // [inner, C] (a 1x1 conv's weight reshaped)
    let projInBias: Tensor
    let projOut: Tensor  // [C, inner]
    let projOutBias: Tensor
    let blocks: [BasicTransformerBlock]

    init(_ w: WeightScope, channels: Int, heads: Int, layers: Int, contextDim: Int, groups: Int,
         linearProjection: Bool) throws {
        norm = try GroupNorm(w.scope("norm"), groups: groups, channels: channels, eps: 1e-6)
        self.linearProjection = linearProjection
        let inner = channels  // heads · (channels / heads)
        let kernel: [Int] = linearProjection ? [] : [1, 1]
        projIn = try w.take("proj_in.weight", [inner, channels] + kernel).reshaped([inner, channels])
        projInBias = try w.take("proj_in.bias", [inner])
        blocks = try (0..<layers).map {
            try BasicTransformerBlock(w.scope("transformer_blocks", $0), dim: inner, heads: heads, contextDim: contextDim)
        }
        projOut = try w.take("proj_out.weight", [channels, inner] + kernel).reshaped([channels, inner])
        projOutBias = try w.take("proj_out.bias", [channels])
    }

    /// x [N, C, H, W], context [N, L, Dc] → [N, C, H, W]. A 1x1 conv on NCHW equals the linear map on [N, HW, C].
    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3]
        var t = norm(x).permuted([0, 2, 3, 1]).reshaped([n, h * wd, c])  // [N, HW, C]
        t = Tensor.linear(t, weight: projIn, bias: projInBias)  // [N, HW, inner]
        for block in blocks { t = block(t, context: context) }
        t = Tensor.linear(t, weight: projOut, bias: projOutBias)  // [N, HW, C]
        return t.reshaped([n, h, wd, c]).permuted([0, 3, 1, 2]) + x
    }
}

/// BasicTransformerBlock: self-attention, cross-attention to the text states, GEGLU feed-forward; pre-LN, residual.
struct BasicTransformerBlock: Sendable {
    let heads: Int
    let norm1: LayerNorm
    let attn1: (q: Linear, k: Linear, v: Linear, out: Linear)
    let norm2: LayerNorm
    let attn2: (q: Linear, k: Linear, v: Linear, out: Linear)
    let norm3: LayerNorm
    let ffProj: Linear  // GEGLU: dim → 2 · 4·dim (value ‖ gate)
    let ffOut: Linear

    init(_ w: WeightScope, dim: Int, heads: Int, contextDim: Int) throws {
        self.heads = heads
        func attention(_ a: WeightScope, kvDim: Int) throws -> (Linear, Linear, Linear, Linear) {
            (try Linear(a.scope("to_q"), dim, dim, bias: false), try Linear(a.scope("to_k"), kvDim, dim, bias: false),
             try Linear(a.scope("to_v"), kvDim, dim, bias: false), try Linear(a.scope("to_out.0"), dim, dim))
        }
        norm1 = try LayerNorm(w.scope("norm1"), dim, eps: 1e-5)
        attn1 = try attention(w.scope("attn1"), kvDim: dim)
        norm2 = try LayerNorm(w.scope("norm2"), dim, eps: 1e-5)
        attn2 = try attention(w.scope("attn2"), kvDim: contextDim)
        norm3 = try LayerNorm(w.scope("norm3"), dim, eps: 1e-5)
        ffProj = try Linear(w.scope("ff.net.0.proj"), dim, dim * 8)
        ffOut = try Linear(w.scope("ff.net.2"), dim * 4, dim)
    }

    /// x [N, L, D], context [N, Lc, Dc] → [N, L, D].
    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        var h = norm1(x)
        var x = x + attn1.out(multiHeadAttention(q: attn1.q(h), k: attn1.k(h), v: attn1.v(h), heads: heads))
        h = norm2(x)
        x = x + attn2.out(multiHeadAttention(q: attn2.q(h), k: attn2.k(context), v: attn2.v(context), heads: heads))
        let parts = ffProj(norm3(x)).chunked(2, dim: -1)  // 2 x [N, L, 4D]
        return x + ffOut(parts[0] * parts[1].gelu())
    }
}

/// Sinusoidal timestep features, as diffusers' `get_timestep_embedding` (float32 throughout):
/// exponent_i = −ln(10000) · i / (half − shift), features [sin(t·e^exponent), cos(…)], halves swapped when
/// `flipSinToCos`. Returns [N, dim].
func timestepEmbedding(_ timesteps: [Float], dim: Int, flipSinToCos: Bool, freqShift: Float) -> Tensor {
    let half = dim / 2
    let freqs = (0..<half).map { i -> Float in
        Foundation.exp(-Float(Foundation.log(10000.0)) * Float(i) / (Float(half) - freqShift))
    }
    return Tensor(shape: [timesteps.count, dim]) { out in
        for (n, t) in timesteps.enumerated() {
            for i in 0..<half {
                let a = t * freqs[i]
                let (s, c) = (Foundation.sin(a), Foundation.cos(a))
                out[n * dim + i] = flipSinToCos ? c : s
                out[n * dim + half + i] = flipSinToCos ? s : c
            }
            if dim % 2 == 1 { out[n * dim + dim - 1] = 0 }
        }
    }
}
