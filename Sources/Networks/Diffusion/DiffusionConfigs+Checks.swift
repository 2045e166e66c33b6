// Range checks on the numbers of a model's config.json, run when the file is loaded: a hostile or damaged
// file is refused with a `ConfigError.invalidValue` naming the file and key, before any of its values sizes
// a tensor or divides a channel count. The bounds sit far above every published Stable Diffusion model.

/// A configuration whose values are checked after decoding.
protocol CheckedConfig {
    func check(file: String) throws
}

/// Collects the range checks of one file.
struct ConfigChecker {
    let file: String

    func fail(_ key: String, _ reason: String) -> ConfigError { .invalidValue(file: file, key: key, reason: reason) }

    func range(_ key: String, _ value: Int, _ bounds: ClosedRange<Int>) throws {
        guard bounds.contains(value) else { throw fail(key, "\(value) is outside \(bounds.lowerBound)...\(bounds.upperBound)") }
    }

    func list(_ key: String, _ values: [Int], _ bounds: ClosedRange<Int>, count: ClosedRange<Int> = 1...16) throws {
        guard count.contains(values.count) else { throw fail(key, "\(values.count) entries (expected \(count.lowerBound)...\(count.upperBound))") }
        for (i, v) in values.enumerated() { try range("\(key)[\(i)]", v, bounds) }
    }

    func oneOrMany(_ key: String, _ value: OneOrMany<Int>?, _ bounds: ClosedRange<Int>) throws {
        switch value {
        case nil: return
        case .one(let v)?: try range(key, v, bounds)
        case .many(let vs)?: try list(key, vs, bounds)
        }
    }

    /// Every channel count must split into `groups` groups.
    func groups(_ key: String, _ groups: Int, channels: [Int], channelsKey: String) throws {
        try range(key, groups, 1...1024)
        if let c = channels.first(where: { $0 % groups != 0 }) {
            throw fail(key, "\(groups) groups do not divide \(channelsKey) entry \(c)")
        }
    }
}

extension UNet2DConditionConfig: CheckedConfig {
    func check(file: String) throws {
        let c = ConfigChecker(file: file)
        try c.range("in_channels", inChannels, 1...64)
        try c.range("out_channels", outChannels, 1...64)
        try c.list("block_out_channels", blockOutChannels, 1...16384)
        if let g = normNumGroups { try c.groups("norm_num_groups", g, channels: blockOutChannels, channelsKey: "block_out_channels") }
        try c.oneOrMany("layers_per_block", layersPerBlock, 1...64)
        try c.oneOrMany("cross_attention_dim", crossAttentionDim, 1...16384)
        try c.oneOrMany("transformer_layers_per_block", transformerLayersPerBlock, 1...64)
        try c.oneOrMany("attention_head_dim", attentionHeadDim, 1...4096)
        try c.oneOrMany("num_attention_heads", numAttentionHeads, 1...4096)
        try c.range("downsample_padding", downsamplePadding, 0...16)
        try c.range("conv_in_kernel", convInKernel, 1...15)
        try c.range("conv_out_kernel", convOutKernel, 1...15)
        if let s = sampleSize { try c.range("sample_size", s, 1...16384) }
        if let d = timeEmbeddingDim { try c.range("time_embedding_dim", d, 1...65536) }
        if let d = timeCondProjDim { try c.range("time_cond_proj_dim", d, 1...65536) }
        try c.range("down_block_types", downBlockTypes.count, blockOutChannels.count...blockOutChannels.count)
        try c.range("up_block_types", upBlockTypes.count, blockOutChannels.count...blockOutChannels.count)
    }
}

extension AutoencoderKLConfig: CheckedConfig {
    func check(file: String) throws {
        let c = ConfigChecker(file: file)
        try c.range("in_channels", inChannels, 1...64)
        try c.range("out_channels", outChannels, 1...64)
        try c.range("latent_channels", latentChannels, 1...256)
        try c.list("block_out_channels", blockOutChannels, 1...16384)
        try c.groups("norm_num_groups", normNumGroups, channels: blockOutChannels, channelsKey: "block_out_channels")
        try c.range("layers_per_block", layersPerBlock, 1...64)
        try c.range("sample_size", sampleSize, 1...16384)
        guard scalingFactor.isFinite, scalingFactor != 0 else { throw c.fail("scaling_factor", "\(scalingFactor) must be finite and non-zero") }
    }
}

extension AutoencoderTinyConfig: CheckedConfig {
    func check(file: String) throws {
        let c = ConfigChecker(file: file)
        try c.range("in_channels", inChannels, 1...64)
        try c.range("out_channels", outChannels, 1...64)
        try c.range("latent_channels", latentChannels, 1...256)
        try c.list("encoder_block_out_channels", encoderBlockOutChannels, 1...16384)
        try c.list("decoder_block_out_channels", decoderBlockOutChannels, 1...16384)
        try c.list("num_encoder_blocks", numEncoderBlocks, 0...64)
        try c.list("num_decoder_blocks", numDecoderBlocks, 0...64)
        try c.range("upsampling_scaling_factor", upsamplingScalingFactor, 1...16)
    }
}

extension CLIPTextConfig: CheckedConfig {
    func check(file: String) throws {
        let c = ConfigChecker(file: file)
        try c.range("vocab_size", vocabSize, 1...1_000_000)
        try c.range("hidden_size", hiddenSize, 1...16384)
        try c.range("intermediate_size", intermediateSize, 1...65536)
        try c.range("num_hidden_layers", numHiddenLayers, 1...256)
        try c.range("num_attention_heads", numAttentionHeads, 1...hiddenSize)
        if hiddenSize % numAttentionHeads != 0 {
            throw c.fail("num_attention_heads", "\(numAttentionHeads) heads do not divide hidden_size \(hiddenSize)")
        }
        try c.range("max_position_embeddings", maxPositionEmbeddings, 2...4096)
        try c.range("projection_dim", projectionDim, 1...16384)
    }
}
