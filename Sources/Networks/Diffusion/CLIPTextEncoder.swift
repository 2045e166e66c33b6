// Port of transformers 5.23.0 models/clip/modeling_clip.py, CLIPTextModel (CLIPTextTransformer); keys are as
// transformers 5 saves them (no `text_model.` prefix, which older checkpoints such as SD2's carry and
// `CLIPTextEncoder.renames` strips). Returns last_hidden_state, which SD2 pipelines use as prompt_embeds.
import Foundation
import TensorCore

/// The CLIP / OpenCLIP text transformer: token + position embeddings, pre-LN causal layers, final layer norm.
public struct CLIPTextEncoder: Sendable {
    public let config: CLIPTextConfig
    let tokenEmbedding: Tensor  // [vocab, D]
    let positionEmbedding: Tensor  // [positions, D]
    let layers: [CLIPEncoderLayer]
    let finalLayerNorm: LayerNorm

    /// Checkpoints written by transformers 4 prefix every key with `text_model.`.
    public static let renames = [WeightRename("text_model.", "")]

    public init(config: CLIPTextConfig, weights: WeightStore) throws {
        guard ["gelu", "quick_gelu"].contains(config.hiddenAct) else {
            throw WeightLoadError.unsupported(component: weights.component, reason: "hidden_act \(config.hiddenAct)")
        }
        guard config.hiddenSize % config.numAttentionHeads == 0 else {
            throw WeightLoadError.unsupported(component: weights.component, reason: "hidden_size not divisible by heads")
        }
        self.config = config
        let d = config.hiddenSize
        let root = WeightScope(store: weights, prefix: "")
        tokenEmbedding = try root.take("embeddings.token_embedding.weight", [config.vocabSize, d])
        positionEmbedding = try root.take("embeddings.position_embedding.weight", [config.maxPositionEmbeddings, d])
        weights.skipBuffer("embeddings.position_ids")
        layers = try (0..<config.numHiddenLayers).map {
            try CLIPEncoderLayer(root.scope("encoder.layers", $0), config: config)
        }
        finalLayerNorm = try LayerNorm(root.scope("final_layer_norm"), d, eps: config.layerNormEps)
        try weights.finish()
    }

    /// Loads `text_encoder/` of a diffusers pipeline folder.
    public static func load(_ folder: DiffusersFolder, component: String = "text_encoder",
                            variant: WeightVariant = .any) throws -> CLIPTextEncoder {
        let config = try DiffusionConfig.load(CLIPTextConfig.self, from: folder.configURL(component))
        return try CLIPTextEncoder(config: config, weights: WeightStore(folder: folder, component: component, variant: variant, renames: renames))
    }

    /// Loads a single component folder (config.json + model.safetensors).
    public static func load(componentFolder url: URL, variant: WeightVariant = .any) throws -> CLIPTextEncoder {
        let config = try DiffusionConfig.load(CLIPTextConfig.self, from: url.appendingPathComponent("config.json"))
        return try CLIPTextEncoder(config: config, weights: WeightStore(componentFolder: url, variant: variant, renames: renames))
    }

    /// `last_hidden_state` [B, L, D] of token ids [B][L] (L ≤ max_position_embeddings).
    public func callAsFunction(_ ids: [[Int]]) -> Tensor {
        encode(ids, layers: layers.count)
    }

    /// prompt_embeds [N, max_length, D] of `prompts` as diffusers' `encode_prompt` makes them: ids padded to the
    /// tokenizer's max length, last_hidden_state. The empty prompt gives the unconditional (negative) embedding.
    public func embed(_ prompts: [String], tokenizer: CLIPTokenizer) -> Tensor {
        self(prompts.map { tokenizer.encode($0) })
    }

    /// Hidden states after `layers` encoder layers (`hidden_states[layers]`), with the final layer norm only
    /// when all layers ran.
    public func encode(_ ids: [[Int]], layers count: Int) -> Tensor {
        let b = ids.count, l = ids.first?.count ?? 0, d = config.hiddenSize
        precondition(b > 0 && ids.allSatisfy { $0.count == l } && l <= config.maxPositionEmbeddings,
                     "CLIPTextEncoder: \(b) sequences must share one length ≤ \(config.maxPositionEmbeddings)")
        let tok = tokenEmbedding.contiguous(), pos = positionEmbedding.contiguous()
        var x = Tensor(shape: [b, l, d]) { out in
            tok.withUnsafeBufferPointer { t in
                pos.withUnsafeBufferPointer { p in
                    for i in 0..<b {
                        for j in 0..<l {
                            let id = ids[i][j]
                            precondition(id >= 0 && id < config.vocabSize, "CLIPTextEncoder: token id \(id) out of range")
                            for c in 0..<d { out[(i * l + j) * d + c] = t[id * d + c] + p[j * d + c] }
                        }
                    }
                }
            }
        }  // [B, L, D]
        for layer in layers.prefix(count) { x = layer(x) }
        return count == layers.count ? finalLayerNorm(x) : x
    }
}

struct CLIPEncoderLayer: Sendable {
    let heads: Int
    let quickGELU: Bool
    let layerNorm1: LayerNorm
    let qProj: Linear
    let kProj: Linear
    let vProj: Linear
    let outProj: Linear
    let layerNorm2: LayerNorm
    let fc1: Linear
    let fc2: Linear

    init(_ w: WeightScope, config: CLIPTextConfig) throws {
        let d = config.hiddenSize, ff = config.intermediateSize
        heads = config.numAttentionHeads
        quickGELU = config.hiddenAct == "quick_gelu"
        layerNorm1 = try LayerNorm(w.scope("layer_norm1"), d, eps: config.layerNormEps)
        qProj = try Linear(w.scope("self_attn.q_proj"), d, d)
        kProj = try Linear(w.scope("self_attn.k_proj"), d, d)
        vProj = try Linear(w.scope("self_attn.v_proj"), d, d)
        outProj = try Linear(w.scope("self_attn.out_proj"), d, d)
        layerNorm2 = try LayerNorm(w.scope("layer_norm2"), d, eps: config.layerNormEps)
        fc1 = try Linear(w.scope("mlp.fc1"), d, ff)
        fc2 = try Linear(w.scope("mlp.fc2"), ff, d)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = layerNorm1(x)
        let a = multiHeadAttention(q: qProj(h), k: kProj(h), v: vProj(h), heads: heads, causal: true)  // [B, L, D]
        let x = x + outProj(a)
        var m = fc1(layerNorm2(x))  // [B, L, FF]
        m = quickGELU ? m * (m * 1.702).sigmoid() : m.gelu()
        return x + fc2(m)
    }
}

/// softmax(q kᵀ / √d) v over `heads` heads: q [B, Lq, H·D], k and v [B, Lk, H·D] → [B, Lq, H·D].
func multiHeadAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool = false) -> Tensor {
    let b = q.shape[0], lq = q.shape[1], inner = q.shape[2], lk = k.shape[1]
    let dh = inner / heads
    func split(_ t: Tensor, _ l: Int) -> Tensor { t.reshaped([b, l, heads, dh]).permuted([0, 2, 1, 3]) }
    let o = Tensor.scaledDotProductAttention(split(q, lq), split(k, lk), split(v, lk), causal: causal)  // [B, H, Lq, D]
    return o.permuted([0, 2, 1, 3]).reshaped([b, lq, inner])
}
