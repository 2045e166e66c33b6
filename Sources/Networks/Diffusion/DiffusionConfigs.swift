// Configurations of the Stable Diffusion components, decoded from the checkpoints' own JSON files.
// Keys mirror diffusers 0.42.1 `config.json` (UNet2DConditionModel, AutoencoderKL, AutoencoderTiny, schedulers,
// model_index.json) and transformers 5.23.0 `CLIPTextConfig`. A missing key takes the default of the Python
// class's __init__, unknown keys are ignored, and a value of the wrong type is an error naming file and key.
import Foundation

// MARK: - Errors and loading

public enum ConfigError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case notJSON(file: String, reason: String)
    case wrongType(file: String, key: String, expected: String)
    case missingKey(file: String, key: String)
    case invalidValue(file: String, key: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "\(file): cannot read (\(reason))"
        case let .notJSON(file, reason): "\(file): not valid JSON (\(reason))"
        case let .wrongType(file, key, expected): "\(file): key \"\(key)\" should be \(expected)"
        case let .missingKey(file, key): "\(file): required key \"\(key)\" is missing"
        case let .invalidValue(file, key, reason): "\(file): key \"\(key)\": \(reason)"
        }
    }
}

public enum DiffusionConfig {
    /// Decodes a configuration file (config.json, scheduler_config.json, model_index.json, ...).
    public static func load<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ConfigError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        let value = try decode(type, from: data, file: url.path)
        if let checked = value as? CheckedConfig { try checked.check(file: url.path) }
        return value
    }

    /// Decodes configuration JSON; `file` names the source in errors.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw map(error, file: file)
        } catch let error as ConfigError {
            throw error
        }
    }

    /// Encodes a configuration the way diffusers writes it (sorted keys, indented).
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    static func keyPath(_ path: [CodingKey], _ last: CodingKey? = nil) -> String {
        let keys = path + (last.map { [$0] } ?? [])
        return keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[")
    }

    static func map(_ error: DecodingError, file: String) -> ConfigError {
        switch error {
        case let .typeMismatch(type, ctx):
            return .wrongType(file: file, key: keyPath(ctx.codingPath), expected: typeName(type))
        case let .valueNotFound(type, ctx):
            return .wrongType(file: file, key: keyPath(ctx.codingPath), expected: "a non-null " + typeName(type))
        case let .keyNotFound(key, ctx):
            return .missingKey(file: file, key: keyPath(ctx.codingPath, key))
        case let .dataCorrupted(ctx):
            if ctx.codingPath.isEmpty {
                return .notJSON(file: file, reason: ctx.debugDescription)
            }
            return .invalidValue(file: file, key: keyPath(ctx.codingPath), reason: ctx.debugDescription)
        @unknown default:
            return .notJSON(file: file, reason: "\(error)")
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        case is String.Type: "a string"
        case is [Any].Type: "a list"
        case is [String: Any].Type: "an object"
        default: "\(type)"
        }
    }
}

/// A value diffusers accepts either once for all blocks or as a per-block list (`attention_head_dim: 8` or `[5, 10, 20, 20]`).
public enum OneOrMany<Element: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
    case one(Element)
    case many([Element])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Element.self) {
            self = .one(v)
        } else if let vs = try? c.decode([Element].self) {
            self = .many(vs)
        } else {
            throw DecodingError.typeMismatch(
                Element.self, .init(codingPath: decoder.codingPath, debugDescription: "neither a value nor a list"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .one(v): try c.encode(v)
        case let .many(vs): try c.encode(vs)
        }
    }

    /// The per-block values for `count` blocks.
    public func perBlock(_ count: Int) -> [Element] {
        switch self {
        case let .one(v): Array(repeating: v, count: count)
        case let .many(vs): vs
        }
    }
}

extension KeyedDecodingContainer {
    /// The value at `key`, or `fallback` when the key is absent or null (Python's keyword default).
    func value<T: Decodable>(_ key: Key, or fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}

// MARK: - UNet2DConditionModel

public struct UNet2DConditionConfig: Codable, Equatable, Sendable {
    public var sampleSize: Int?
    public var inChannels = 4
    public var outChannels = 4
    public var centerInputSample = false
    public var flipSinToCos = true
    public var freqShift = 0
    public var downBlockTypes = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
    public var midBlockType: String? = "UNetMidBlock2DCrossAttn"
    public var upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
    public var onlyCrossAttention: OneOrMany<Bool> = .one(false)
    public var blockOutChannels = [320, 640, 1280, 1280]
    public var layersPerBlock: OneOrMany<Int> = .one(2)
    public var downsamplePadding = 1
    public var midBlockScaleFactor = 1.0
    public var dropout = 0.0
    public var actFn = "silu"
    public var normNumGroups: Int? = 32
    public var normEps = 1e-5
    public var crossAttentionDim: OneOrMany<Int> = .one(1280)
    public var transformerLayersPerBlock: OneOrMany<Int> = .one(1)
    public var reverseTransformerLayersPerBlock: [[Int]]?
    public var encoderHidDim: Int?
    public var encoderHidDimType: String?
    /// Despite the name, diffusers' SD2 configs use this as the number of heads per block (see `num_attention_heads`).
    public var attentionHeadDim: OneOrMany<Int> = .one(8)
    public var numAttentionHeads: OneOrMany<Int>?
    public var dualCrossAttention = false
    public var useLinearProjection = false
    public var classEmbedType: String?
    public var additionEmbedType: String?
    public var additionTimeEmbedDim: Int?
    public var numClassEmbeds: Int?
    public var upcastAttention = false
    public var resnetTimeScaleShift = "default"
    public var resnetSkipTimeAct = false
    public var resnetOutScaleFactor = 1.0
    public var timeEmbeddingType = "positional"
    public var timeEmbeddingDim: Int?
    public var timeEmbeddingActFn: String?
    public var timestepPostAct: String?
    public var timeCondProjDim: Int?
    public var convInKernel = 3
    public var convOutKernel = 3
    public var projectionClassEmbeddingsInputDim: Int?
    public var attentionType = "default"
    public var classEmbeddingsConcat = false
    public var midBlockOnlyCrossAttention: Bool?
    public var crossAttentionNorm: String?
    public var additionEmbedTypeNumHeads = 64

    public init() {}

    /// Attention heads per down block: diffusers reads `num_attention_heads`, falling back to `attention_head_dim`.
    public var headsPerBlock: [Int] {
        (numAttentionHeads ?? attentionHeadDim).perBlock(downBlockTypes.count)
    }

    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size", inChannels = "in_channels", outChannels = "out_channels"
        case centerInputSample = "center_input_sample", flipSinToCos = "flip_sin_to_cos", freqShift = "freq_shift"
        case downBlockTypes = "down_block_types", midBlockType = "mid_block_type", upBlockTypes = "up_block_types"
        case onlyCrossAttention = "only_cross_attention", blockOutChannels = "block_out_channels"
        case layersPerBlock = "layers_per_block", downsamplePadding = "downsample_padding"
        case midBlockScaleFactor = "mid_block_scale_factor", dropout, actFn = "act_fn"
        case normNumGroups = "norm_num_groups", normEps = "norm_eps", crossAttentionDim = "cross_attention_dim"
        case transformerLayersPerBlock = "transformer_layers_per_block"
        case reverseTransformerLayersPerBlock = "reverse_transformer_layers_per_block"
        case encoderHidDim = "encoder_hid_dim", encoderHidDimType = "encoder_hid_dim_type"
        case attentionHeadDim = "attention_head_dim", numAttentionHeads = "num_attention_heads"
        case dualCrossAttention = "dual_cross_attention", useLinearProjection = "use_linear_projection"
        case classEmbedType = "class_embed_type", additionEmbedType = "addition_embed_type"
        case additionTimeEmbedDim = "addition_time_embed_dim", numClassEmbeds = "num_class_embeds"
        case upcastAttention = "upcast_attention", resnetTimeScaleShift = "resnet_time_scale_shift"
        case resnetSkipTimeAct = "resnet_skip_time_act", resnetOutScaleFactor = "resnet_out_scale_factor"
        case timeEmbeddingType = "time_embedding_type", timeEmbeddingDim = "time_embedding_dim"
        case timeEmbeddingActFn = "time_embedding_act_fn", timestepPostAct = "timestep_post_act"
        case timeCondProjDim = "time_cond_proj_dim", convInKernel = "conv_in_kernel", convOutKernel = "conv_out_kernel"
        case projectionClassEmbeddingsInputDim = "projection_class_embeddings_input_dim"
        case attentionType = "attention_type", classEmbeddingsConcat = "class_embeddings_concat"
        case midBlockOnlyCrossAttention = "mid_block_only_cross_attention", crossAttentionNorm = "cross_attention_norm"
        case additionEmbedTypeNumHeads = "addition_embed_type_num_heads"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize)
        inChannels = try c.value(.inChannels, or: d.inChannels)
        outChannels = try c.value(.outChannels, or: d.outChannels)
        centerInputSample = try c.value(.centerInputSample, or: d.centerInputSample)
        flipSinToCos = try c.value(.flipSinToCos, or: d.flipSinToCos)
        freqShift = try c.value(.freqShift, or: d.freqShift)
        downBlockTypes = try c.value(.downBlockTypes, or: d.downBlockTypes)
        midBlockType = c.contains(.midBlockType) ? try c.decodeIfPresent(String.self, forKey: .midBlockType) : d.midBlockType
        upBlockTypes = try c.value(.upBlockTypes, or: d.upBlockTypes)
        onlyCrossAttention = try c.value(.onlyCrossAttention, or: d.onlyCrossAttention)
        blockOutChannels = try c.value(.blockOutChannels, or: d.blockOutChannels)
        layersPerBlock = try c.value(.layersPerBlock, or: d.layersPerBlock)
        downsamplePadding = try c.value(.downsamplePadding, or: d.downsamplePadding)
        midBlockScaleFactor = try c.value(.midBlockScaleFactor, or: d.midBlockScaleFactor)
        dropout = try c.value(.dropout, or: d.dropout)
        actFn = try c.value(.actFn, or: d.actFn)
        normNumGroups = c.contains(.normNumGroups) ? try c.decodeIfPresent(Int.self, forKey: .normNumGroups) : d.normNumGroups
        normEps = try c.value(.normEps, or: d.normEps)
        crossAttentionDim = try c.value(.crossAttentionDim, or: d.crossAttentionDim)
        transformerLayersPerBlock = try c.value(.transformerLayersPerBlock, or: d.transformerLayersPerBlock)
        reverseTransformerLayersPerBlock = try c.decodeIfPresent([[Int]].self, forKey: .reverseTransformerLayersPerBlock)
        encoderHidDim = try c.decodeIfPresent(Int.self, forKey: .encoderHidDim)
        encoderHidDimType = try c.decodeIfPresent(String.self, forKey: .encoderHidDimType)
        attentionHeadDim = try c.value(.attentionHeadDim, or: d.attentionHeadDim)
        numAttentionHeads = try c.decodeIfPresent(OneOrMany<Int>.self, forKey: .numAttentionHeads)
        dualCrossAttention = try c.value(.dualCrossAttention, or: d.dualCrossAttention)
        useLinearProjection = try c.value(.useLinearProjection, or: d.useLinearProjection)
        classEmbedType = try c.decodeIfPresent(String.self, forKey: .classEmbedType)
        additionEmbedType = try c.decodeIfPresent(String.self, forKey: .additionEmbedType)
        additionTimeEmbedDim = try c.decodeIfPresent(Int.self, forKey: .additionTimeEmbedDim)
        numClassEmbeds = try c.decodeIfPresent(Int.self, forKey: .numClassEmbeds)
        upcastAttention = try c.value(.upcastAttention, or: d.upcastAttention)
        resnetTimeScaleShift = try c.value(.resnetTimeScaleShift, or: d.resnetTimeScaleShift)
        resnetSkipTimeAct = try c.value(.resnetSkipTimeAct, or: d.resnetSkipTimeAct)
        resnetOutScaleFactor = try c.value(.resnetOutScaleFactor, or: d.resnetOutScaleFactor)
        timeEmbeddingType = try c.value(.timeEmbeddingType, or: d.timeEmbeddingType)
        timeEmbeddingDim = try c.decodeIfPresent(Int.self, forKey: .timeEmbeddingDim)
        timeEmbeddingActFn = try c.decodeIfPresent(String.self, forKey: .timeEmbeddingActFn)
        timestepPostAct = try c.decodeIfPresent(String.self, forKey: .timestepPostAct)
        timeCondProjDim = try c.decodeIfPresent(Int.self, forKey: .timeCondProjDim)
        convInKernel = try c.value(.convInKernel, or: d.convInKernel)
        convOutKernel = try c.value(.convOutKernel, or: d.convOutKernel)
        projectionClassEmbeddingsInputDim = try c.decodeIfPresent(Int.self, forKey: .projectionClassEmbeddingsInputDim)
        attentionType = try c.value(.attentionType, or: d.attentionType)
        classEmbeddingsConcat = try c.value(.classEmbeddingsConcat, or: d.classEmbeddingsConcat)
        midBlockOnlyCrossAttention = try c.decodeIfPresent(Bool.self, forKey: .midBlockOnlyCrossAttention)
        crossAttentionNorm = try c.decodeIfPresent(String.self, forKey: .crossAttentionNorm)
        additionEmbedTypeNumHeads = try c.value(.additionEmbedTypeNumHeads, or: d.additionEmbedTypeNumHeads)
    }
}

// MARK: - AutoencoderKL

public struct AutoencoderKLConfig: Codable, Equatable, Sendable {
    public var inChannels = 3
    public var outChannels = 3
    public var downBlockTypes = ["DownEncoderBlock2D"]
    public var upBlockTypes = ["UpDecoderBlock2D"]
    public var blockOutChannels = [64]
    public var layersPerBlock = 1
    public var actFn = "silu"
    public var latentChannels = 4
    public var normNumGroups = 32
    public var sampleSize = 32
    /// Latents are multiplied by this after encoding and divided by it before decoding.
    public var scalingFactor = 0.18215
    public var shiftFactor: Double?
    public var latentsMean: [Double]?
    public var latentsStd: [Double]?
    public var forceUpcast = true
    public var useQuantConv = true
    public var usePostQuantConv = true
    public var midBlockAddAttention = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels", downBlockTypes = "down_block_types"
        case upBlockTypes = "up_block_types", blockOutChannels = "block_out_channels"
        case layersPerBlock = "layers_per_block", actFn = "act_fn", latentChannels = "latent_channels"
        case normNumGroups = "norm_num_groups", sampleSize = "sample_size", scalingFactor = "scaling_factor"
        case shiftFactor = "shift_factor", latentsMean = "latents_mean", latentsStd = "latents_std"
        case forceUpcast = "force_upcast", useQuantConv = "use_quant_conv", usePostQuantConv = "use_post_quant_conv"
        case midBlockAddAttention = "mid_block_add_attention"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        inChannels = try c.value(.inChannels, or: d.inChannels)
        outChannels = try c.value(.outChannels, or: d.outChannels)
        downBlockTypes = try c.value(.downBlockTypes, or: d.downBlockTypes)
        upBlockTypes = try c.value(.upBlockTypes, or: d.upBlockTypes)
        blockOutChannels = try c.value(.blockOutChannels, or: d.blockOutChannels)
        layersPerBlock = try c.value(.layersPerBlock, or: d.layersPerBlock)
        actFn = try c.value(.actFn, or: d.actFn)
        latentChannels = try c.value(.latentChannels, or: d.latentChannels)
        normNumGroups = try c.value(.normNumGroups, or: d.normNumGroups)
        sampleSize = try c.value(.sampleSize, or: d.sampleSize)
        scalingFactor = try c.value(.scalingFactor, or: d.scalingFactor)
        shiftFactor = try c.decodeIfPresent(Double.self, forKey: .shiftFactor)
        latentsMean = try c.decodeIfPresent([Double].self, forKey: .latentsMean)
        latentsStd = try c.decodeIfPresent([Double].self, forKey: .latentsStd)
        forceUpcast = try c.value(.forceUpcast, or: d.forceUpcast)
        useQuantConv = try c.value(.useQuantConv, or: d.useQuantConv)
        usePostQuantConv = try c.value(.usePostQuantConv, or: d.usePostQuantConv)
        midBlockAddAttention = try c.value(.midBlockAddAttention, or: d.midBlockAddAttention)
    }
}

// MARK: - AutoencoderTiny (TAESD)

public struct AutoencoderTinyConfig: Codable, Equatable, Sendable {
    public var inChannels = 3
    public var outChannels = 3
    public var encoderBlockOutChannels = [64, 64, 64, 64]
    public var decoderBlockOutChannels = [64, 64, 64, 64]
    public var actFn = "relu"
    public var upsampleFn = "nearest"
    public var latentChannels = 4
    public var upsamplingScalingFactor = 2
    public var numEncoderBlocks = [1, 3, 3, 3]
    public var numDecoderBlocks = [3, 3, 3, 1]
    public var latentMagnitude = 3.0
    public var latentShift = 0.5
    public var forceUpcast = false
    public var scalingFactor = 1.0
    public var shiftFactor = 0.0
    /// Legacy alias diffusers still writes (equal to `encoderBlockOutChannels`).
    public var blockOutChannels: [Int]?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels"
        case encoderBlockOutChannels = "encoder_block_out_channels", decoderBlockOutChannels = "decoder_block_out_channels"
        case actFn = "act_fn", upsampleFn = "upsample_fn", latentChannels = "latent_channels"
        case upsamplingScalingFactor = "upsampling_scaling_factor", numEncoderBlocks = "num_encoder_blocks"
        case numDecoderBlocks = "num_decoder_blocks", latentMagnitude = "latent_magnitude", latentShift = "latent_shift"
        case forceUpcast = "force_upcast", scalingFactor = "scaling_factor", shiftFactor = "shift_factor"
        case blockOutChannels = "block_out_channels"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        inChannels = try c.value(.inChannels, or: d.inChannels)
        outChannels = try c.value(.outChannels, or: d.outChannels)
        encoderBlockOutChannels = try c.value(.encoderBlockOutChannels, or: d.encoderBlockOutChannels)
        decoderBlockOutChannels = try c.value(.decoderBlockOutChannels, or: d.decoderBlockOutChannels)
        actFn = try c.value(.actFn, or: d.actFn)
        upsampleFn = try c.value(.upsampleFn, or: d.upsampleFn)
        latentChannels = try c.value(.latentChannels, or: d.latentChannels)
        upsamplingScalingFactor = try c.value(.upsamplingScalingFactor, or: d.upsamplingScalingFactor)
        numEncoderBlocks = try c.value(.numEncoderBlocks, or: d.numEncoderBlocks)
        numDecoderBlocks = try c.value(.numDecoderBlocks, or: d.numDecoderBlocks)
        latentMagnitude = try c.value(.latentMagnitude, or: d.latentMagnitude)
        latentShift = try c.value(.latentShift, or: d.latentShift)
        forceUpcast = try c.value(.forceUpcast, or: d.forceUpcast)
        scalingFactor = try c.value(.scalingFactor, or: d.scalingFactor)
        shiftFactor = try c.value(.shiftFactor, or: d.shiftFactor)
        blockOutChannels = try c.decodeIfPresent([Int].self, forKey: .blockOutChannels)
    }
}

// MARK: - CLIPTextModel (transformers CLIPTextConfig)

public struct CLIPTextConfig: Codable, Equatable, Sendable {
    public var vocabSize = 49408
    public var hiddenSize = 512
    public var intermediateSize = 2048
    public var projectionDim = 512
    public var numHiddenLayers = 12
    public var numAttentionHeads = 8
    public var maxPositionEmbeddings = 77
    public var hiddenAct = "quick_gelu"
    public var layerNormEps = 1e-5
    public var attentionDropout = 0.0
    public var dropout: Double?
    public var initializerRange = 0.02
    public var initializerFactor = 1.0
    public var padTokenId = 1
    public var bosTokenId = 49406
    /// transformers pools at the first `eos_token_id`, except for the legacy value 2 (SD2's configs), where it
    /// pools at the highest token id, i.e. the tokenizer's `<|endoftext|>`.
    public var eosTokenId = 49407

    public init() {}

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case projectionDim = "projection_dim", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", maxPositionEmbeddings = "max_position_embeddings"
        case hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps", attentionDropout = "attention_dropout"
        case dropout, initializerRange = "initializer_range", initializerFactor = "initializer_factor"
        case padTokenId = "pad_token_id", bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        vocabSize = try c.value(.vocabSize, or: d.vocabSize)
        hiddenSize = try c.value(.hiddenSize, or: d.hiddenSize)
        intermediateSize = try c.value(.intermediateSize, or: d.intermediateSize)
        projectionDim = try c.value(.projectionDim, or: d.projectionDim)
        numHiddenLayers = try c.value(.numHiddenLayers, or: d.numHiddenLayers)
        numAttentionHeads = try c.value(.numAttentionHeads, or: d.numAttentionHeads)
        maxPositionEmbeddings = try c.value(.maxPositionEmbeddings, or: d.maxPositionEmbeddings)
        hiddenAct = try c.value(.hiddenAct, or: d.hiddenAct)
        layerNormEps = try c.value(.layerNormEps, or: d.layerNormEps)
        attentionDropout = try c.value(.attentionDropout, or: d.attentionDropout)
        dropout = try c.decodeIfPresent(Double.self, forKey: .dropout)
        initializerRange = try c.value(.initializerRange, or: d.initializerRange)
        initializerFactor = try c.value(.initializerFactor, or: d.initializerFactor)
        padTokenId = try c.value(.padTokenId, or: d.padTokenId)
        bosTokenId = try c.value(.bosTokenId, or: d.bosTokenId)
        eosTokenId = try c.value(.eosTokenId, or: d.eosTokenId)
    }
}
