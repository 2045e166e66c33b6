// Mirrors transformers 5.23.0 `models/segformer/configuration_segformer.py` (`SegformerConfig`): the keys of
// a SegFormer `config.json`, with that class's defaults for keys a file leaves out.
import Foundation

/// A SegFormer configuration as written in a checkpoint's `config.json`.
public struct SegFormerConfig: Codable, Sendable, Equatable {
    public var numChannels: Int = 3
    public var numEncoderBlocks: Int = 4
    public var depths: [Int] = [2, 2, 2, 2]
    public var srRatios: [Int] = [8, 4, 2, 1]
    public var hiddenSizes: [Int] = [32, 64, 160, 256]
    public var patchSizes: [Int] = [7, 3, 3, 3]
    public var strides: [Int] = [4, 2, 2, 2]
    public var numAttentionHeads: [Int] = [1, 2, 5, 8]
    public var mlpRatios: [Int] = [4, 4, 4, 4]
    public var hiddenAct: String = "gelu"
    public var decoderHiddenSize: Int = 256
    public var reshapeLastStage: Bool = true
    /// Stored in `config.json` but not read by the reference layers, which all use `nn.LayerNorm`'s 1e-5.
    public var layerNormEps: Double = 1e-6
    /// Class names by index; JSON object keys are the indices as strings.
    public var id2label: [String: String] = [:]
    public var modelType: String = "segformer"

    enum CodingKeys: String, CodingKey {
        case numChannels = "num_channels"
        case numEncoderBlocks = "num_encoder_blocks"
        case depths
        case srRatios = "sr_ratios"
        case hiddenSizes = "hidden_sizes"
        case patchSizes = "patch_sizes"
        case strides
        case numAttentionHeads = "num_attention_heads"
        case mlpRatios = "mlp_ratios"
        case hiddenAct = "hidden_act"
        case decoderHiddenSize = "decoder_hidden_size"
        case reshapeLastStage = "reshape_last_stage"
        case layerNormEps = "layer_norm_eps"
        case id2label
        case modelType = "model_type"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SegFormerConfig()
        numChannels = try c.decodeIfPresent(Int.self, forKey: .numChannels) ?? d.numChannels
        numEncoderBlocks = try c.decodeIfPresent(Int.self, forKey: .numEncoderBlocks) ?? d.numEncoderBlocks
        depths = try c.decodeIfPresent([Int].self, forKey: .depths) ?? d.depths
        srRatios = try c.decodeIfPresent([Int].self, forKey: .srRatios) ?? d.srRatios
        hiddenSizes = try c.decodeIfPresent([Int].self, forKey: .hiddenSizes) ?? d.hiddenSizes
        patchSizes = try c.decodeIfPresent([Int].self, forKey: .patchSizes) ?? d.patchSizes
        strides = try c.decodeIfPresent([Int].self, forKey: .strides) ?? d.strides
        numAttentionHeads = try c.decodeIfPresent([Int].self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        mlpRatios = try c.decodeIfPresent([Int].self, forKey: .mlpRatios) ?? d.mlpRatios
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        decoderHiddenSize = try c.decodeIfPresent(Int.self, forKey: .decoderHiddenSize) ?? d.decoderHiddenSize
        reshapeLastStage = try c.decodeIfPresent(Bool.self, forKey: .reshapeLastStage) ?? d.reshapeLastStage
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? d.layerNormEps
        id2label = try c.decodeIfPresent([String: String].self, forKey: .id2label) ?? d.id2label
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? d.modelType
    }

    /// Reads and validates `config.json`.
    public static func load(path: String) throws -> SegFormerConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SegFormerError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        let config: SegFormerConfig
        do {
            config = try JSONDecoder().decode(SegFormerConfig.self, from: data)
        } catch {
            throw SegFormerError.badConfig(path: path, reason: "not a SegFormer config.json: \(error)")
        }
        try config.validate(path: path)
        return config
    }

    /// Class names by index, from `id2label` (indices must be 0..<count, each once).
    public var labels: [Int: String] {
        var out: [Int: String] = [:]
        for (k, v) in id2label { if let i = Int(k) { out[i] = v } }
        return out
    }

    public var numLabels: Int { id2label.count }

    /// Largest accepted entry of each per-stage list: far above any published SegFormer (b5: depths 40,
    /// hidden size 512), low enough that no product of them overflows.
    static let limits: [String: Int] = [
        "depths": 256, "sr_ratios": 64, "hidden_sizes": 8192, "patch_sizes": 31, "strides": 32,
        "num_attention_heads": 256, "mlp_ratios": 64,
    ]

    /// Throws `badConfig` naming the first inconsistent value.
    public func validate(path: String = "config.json") throws {
        func fail(_ reason: String) -> SegFormerError { .badConfig(path: path, reason: reason) }
        if modelType != "segformer" { throw fail("model_type is \"\(modelType)\", expected \"segformer\"") }
        if numEncoderBlocks < 1 { throw fail("num_encoder_blocks must be at least 1, got \(numEncoderBlocks)") }
        let lists: [(String, [Int])] = [
            ("depths", depths), ("sr_ratios", srRatios), ("hidden_sizes", hiddenSizes),
            ("patch_sizes", patchSizes), ("strides", strides), ("num_attention_heads", numAttentionHeads),
            ("mlp_ratios", mlpRatios),
        ]
        for (name, list) in lists {
            if list.count != numEncoderBlocks {
                throw fail("\(name) has \(list.count) entries but num_encoder_blocks is \(numEncoderBlocks)")
            }
            if let bad = list.first(where: { $0 < 1 }) { throw fail("\(name) holds \(bad); every entry must be positive") }
            if let bad = list.first(where: { $0 > Self.limits[name]! }) {
                throw fail("\(name) holds \(bad); at most \(Self.limits[name]!) is accepted")
            }
        }
        if numEncoderBlocks > 8 { throw fail("num_encoder_blocks must be at most 8, got \(numEncoderBlocks)") }
        if numChannels > 16 { throw fail("num_channels must be at most 16, got \(numChannels)") }
        if decoderHiddenSize > 8192 { throw fail("decoder_hidden_size must be at most 8192, got \(decoderHiddenSize)") }
        for (i, (h, n)) in zip(hiddenSizes, numAttentionHeads).enumerated() where h % n != 0 {
            throw fail("hidden_sizes[\(i)] = \(h) is not divisible by num_attention_heads[\(i)] = \(n)")
        }
        if numChannels < 1 { throw fail("num_channels must be positive, got \(numChannels)") }
        if decoderHiddenSize < 1 { throw fail("decoder_hidden_size must be positive, got \(decoderHiddenSize)") }
        if hiddenAct != "gelu" { throw fail("hidden_act \"\(hiddenAct)\" is not supported (only \"gelu\")") }
        if !reshapeLastStage { throw fail("reshape_last_stage false is not supported for semantic segmentation") }
        if id2label.isEmpty { throw fail("id2label is missing or empty") }
        let indices = Set(id2label.keys.compactMap { Int($0) })
        if indices != Set(0..<id2label.count) {
            throw fail("id2label keys must be the indices 0..<\(id2label.count), got \(id2label.keys.sorted())")
        }
        if numLabels > 256 { throw fail("\(numLabels) labels do not fit a UInt8 class map") }
    }
}

extension SegFormerConfig {
    /// A Mix Transformer size (MiT-b0…b5 of the SegFormer paper) with `labels` classes.
    public static func mit(hiddenSizes: [Int], depths: [Int], decoderHiddenSize: Int, labels: Int = 19) -> SegFormerConfig {
        var c = SegFormerConfig()
        c.hiddenSizes = hiddenSizes
        c.depths = depths
        c.decoderHiddenSize = decoderHiddenSize
        c.id2label = Dictionary(uniqueKeysWithValues: (0..<labels).map { ("\($0)", "LABEL_\($0)") })
        return c
    }

    public static let b0 = mit(hiddenSizes: [32, 64, 160, 256], depths: [2, 2, 2, 2], decoderHiddenSize: 256)
    public static let b1 = mit(hiddenSizes: [64, 128, 320, 512], depths: [2, 2, 2, 2], decoderHiddenSize: 256)
    public static let b2 = mit(hiddenSizes: [64, 128, 320, 512], depths: [3, 4, 6, 3], decoderHiddenSize: 768)
    public static let b3 = mit(hiddenSizes: [64, 128, 320, 512], depths: [3, 4, 18, 3], decoderHiddenSize: 768)
    public static let b4 = mit(hiddenSizes: [64, 128, 320, 512], depths: [3, 8, 27, 3], decoderHiddenSize: 768)
    public static let b5 = mit(hiddenSizes: [64, 128, 320, 512], depths: [3, 6, 40, 3], decoderHiddenSize: 768)
}

/// Errors from loading or running a SegFormer checkpoint.
public enum SegFormerError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case badConfig(path: String, reason: String)
    case missingTensor(key: String)
    case unusedTensor(key: String)
    case shapeMismatch(key: String, expected: [Int], found: [Int])
    case badWeights(path: String, reason: String)
    case badImage(reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "SegFormer: cannot read \(path): \(reason)"
        case let .badConfig(path, reason): return "SegFormer: bad config \(path): \(reason)"
        case let .missingTensor(key): return "SegFormer: checkpoint lacks tensor \"\(key)\""
        case let .unusedTensor(key): return "SegFormer: checkpoint tensor \"\(key)\" is not part of the model"
        case let .shapeMismatch(key, expected, found):
            return "SegFormer: tensor \"\(key)\" has shape \(found), expected \(expected)"
        case let .badWeights(path, reason): return "SegFormer: bad weights \(path): \(reason)"
        case let .badImage(reason): return "SegFormer: bad image: \(reason)"
        }
    }
}
