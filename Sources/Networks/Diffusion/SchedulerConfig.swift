// scheduler/scheduler_config.json and model_index.json, keys as diffusers 0.42.1 writes them.
import Foundation

/// One configuration type for every scheduler class: diffusers' `from_config` moves configs between classes
/// (the SVIA reference builds DDIM from SD2's PNDM config), keeping keys the target ignores.
/// Missing keys take DDIMScheduler's defaults; `timestep_spacing` stays nil when absent because its default
/// differs per class (DDIM: leading, Euler: linspace).
public struct SchedulerConfig: Codable, Equatable, Sendable {
    /// `_class_name`: the class diffusers would build (PNDMScheduler, DDIMScheduler, EulerDiscreteScheduler, ...).
    public var className: String?
    public var numTrainTimesteps = 1000
    public var betaStart = 0.0001
    public var betaEnd = 0.02
    public var betaSchedule = BetaSchedule.linear
    public var trainedBetas: [Double]?
    public var clipSample = true
    public var clipSampleRange = 1.0
    public var setAlphaToOne = true
    public var stepsOffset = 0
    public var predictionType = PredictionType.epsilon
    public var thresholding = false
    public var dynamicThresholdingRatio = 0.995
    public var sampleMaxValue = 1.0
    public var timestepSpacing: TimestepSpacing?
    public var rescaleBetasZeroSnr = false
    // Keys of other scheduler classes, kept so that a config survives a round trip.
    public var skipPrkSteps: Bool?
    public var interpolationType: String?
    public var timestepType: String?
    public var useKarrasSigmas: Bool?
    public var useExponentialSigmas: Bool?
    public var useBetaSigmas: Bool?
    public var sigmaMin: Double?
    public var sigmaMax: Double?
    public var finalSigmasType: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case numTrainTimesteps = "num_train_timesteps", betaStart = "beta_start", betaEnd = "beta_end"
        case betaSchedule = "beta_schedule", trainedBetas = "trained_betas", clipSample = "clip_sample"
        case clipSampleRange = "clip_sample_range", setAlphaToOne = "set_alpha_to_one", stepsOffset = "steps_offset"
        case predictionType = "prediction_type", thresholding, dynamicThresholdingRatio = "dynamic_thresholding_ratio"
        case sampleMaxValue = "sample_max_value", timestepSpacing = "timestep_spacing"
        case rescaleBetasZeroSnr = "rescale_betas_zero_snr", skipPrkSteps = "skip_prk_steps"
        case interpolationType = "interpolation_type", timestepType = "timestep_type"
        case useKarrasSigmas = "use_karras_sigmas", useExponentialSigmas = "use_exponential_sigmas"
        case useBetaSigmas = "use_beta_sigmas", sigmaMin = "sigma_min", sigmaMax = "sigma_max"
        case finalSigmasType = "final_sigmas_type"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        className = try c.decodeIfPresent(String.self, forKey: .className)
        numTrainTimesteps = try c.value(.numTrainTimesteps, or: d.numTrainTimesteps)
        betaStart = try c.value(.betaStart, or: d.betaStart)
        betaEnd = try c.value(.betaEnd, or: d.betaEnd)
        betaSchedule = try c.value(.betaSchedule, or: d.betaSchedule)
        trainedBetas = try c.decodeIfPresent([Double].self, forKey: .trainedBetas)
        clipSample = try c.value(.clipSample, or: d.clipSample)
        clipSampleRange = try c.value(.clipSampleRange, or: d.clipSampleRange)
        setAlphaToOne = try c.value(.setAlphaToOne, or: d.setAlphaToOne)
        stepsOffset = try c.value(.stepsOffset, or: d.stepsOffset)
        // diffusers 0.8-era SD2 checkpoints were briefly published with "velocity".
        if let raw = try c.decodeIfPresent(String.self, forKey: .predictionType) {
            guard let p = PredictionType(rawValue: raw == "velocity" ? "v_prediction" : raw) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .predictionType, in: c,
                    debugDescription: "unknown prediction type \"\(raw)\" (epsilon, v_prediction, sample)")
            }
            predictionType = p
        }
        thresholding = try c.value(.thresholding, or: d.thresholding)
        dynamicThresholdingRatio = try c.value(.dynamicThresholdingRatio, or: d.dynamicThresholdingRatio)
        sampleMaxValue = try c.value(.sampleMaxValue, or: d.sampleMaxValue)
        timestepSpacing = try c.decodeIfPresent(TimestepSpacing.self, forKey: .timestepSpacing)
        rescaleBetasZeroSnr = try c.value(.rescaleBetasZeroSnr, or: d.rescaleBetasZeroSnr)
        skipPrkSteps = try c.decodeIfPresent(Bool.self, forKey: .skipPrkSteps)
        interpolationType = try c.decodeIfPresent(String.self, forKey: .interpolationType)
        timestepType = try c.decodeIfPresent(String.self, forKey: .timestepType)
        useKarrasSigmas = try c.decodeIfPresent(Bool.self, forKey: .useKarrasSigmas)
        useExponentialSigmas = try c.decodeIfPresent(Bool.self, forKey: .useExponentialSigmas)
        useBetaSigmas = try c.decodeIfPresent(Bool.self, forKey: .useBetaSigmas)
        sigmaMin = try c.decodeIfPresent(Double.self, forKey: .sigmaMin)
        sigmaMax = try c.decodeIfPresent(Double.self, forKey: .sigmaMax)
        finalSigmasType = try c.decodeIfPresent(String.self, forKey: .finalSigmasType)
    }

    /// The same configuration under another class name (diffusers' `OtherScheduler.from_config(config)`).
    public func with(className: String) -> SchedulerConfig {
        var c = self
        c.className = className
        return c
    }
}

// MARK: - model_index.json

/// The pipeline's table of contents: which library and class each sub-folder holds, plus pipeline flags.
public struct ModelIndex: Codable, Equatable, Sendable {
    /// A component entry: `["diffusers", "UNet2DConditionModel"]`, or `[null, null]` when left out.
    public struct Component: Codable, Equatable, Sendable {
        public var library: String?
        public var className: String?

        public init(library: String?, className: String?) {
            self.library = library
            self.className = className
        }

        public init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            guard c.count == 2 else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: decoder.codingPath, debugDescription: "a component is [library, class]"))
            }
            library = try c.decodeIfPresent(String.self)
            className = try c.decodeIfPresent(String.self)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.unkeyedContainer()
            if let library { try c.encode(library) } else { try c.encodeNil() }
            if let className { try c.encode(className) } else { try c.encodeNil() }
        }

        public var isPresent: Bool { library != nil && className != nil }
    }

    public var className: String
    public var diffusersVersion: String?
    public var components: [String: Component]
    /// Boolean pipeline options such as `requires_safety_checker`.
    public var flags: [String: Bool]

    public init(className: String, diffusersVersion: String? = nil, components: [String: Component],
                flags: [String: Bool] = [:]) {
        self.className = className
        self.diffusersVersion = diffusersVersion
        self.components = components
        self.flags = flags
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        guard let name = try c.decodeIfPresent(String.self, forKey: Key("_class_name")) else {
            throw DecodingError.keyNotFound(Key("_class_name"), .init(
                codingPath: decoder.codingPath, debugDescription: "model_index.json names its pipeline class"))
        }
        className = name
        diffusersVersion = try c.decodeIfPresent(String.self, forKey: Key("_diffusers_version"))
        components = [:]
        flags = [:]
        for key in c.allKeys where !key.stringValue.hasPrefix("_") {
            if let flag = try? c.decode(Bool.self, forKey: key) {
                flags[key.stringValue] = flag
            } else if (try? c.decodeNil(forKey: key)) == true {
                continue
            } else if let component = try? c.decode(Component.self, forKey: key) {
                components[key.stringValue] = component
            }
            // Anything else (strings, numbers, nested options) does not affect loading and is skipped.
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(className, forKey: Key("_class_name"))
        try c.encodeIfPresent(diffusersVersion, forKey: Key("_diffusers_version"))
        for (k, v) in components { try c.encode(v, forKey: Key(k)) }
        for (k, v) in flags { try c.encode(v, forKey: Key(k)) }
    }
}
