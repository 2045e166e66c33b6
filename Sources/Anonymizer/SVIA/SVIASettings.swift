import Foundation
import Networks

/// The named starting points of `--method svia`. Every value a preset sets can be overridden.
public enum SVIAPreset: String, CaseIterable, Codable, Sendable {
    /// The reference's models, categories, prompts and sampler: 520 UNet evaluations per picture.
    case paper
    /// The privacy mapping, empty categories skipped, fewer deterministic steps.
    case `default`
    /// sd-turbo (latent blending inside the mask) and the tiny autoencoder, one pass for all categories.
    case fast
}

/// Which sampler a denoising pass uses.
public enum SVIASampler: String, Codable, Sendable {
    /// DDIM with the settings' eta (the reference's sampler).
    case ddim
    /// Euler on a trailing schedule (sd-turbo's own sampler).
    case euler
}

/// How the inpainter walks the categories.
public enum SVIAPasses: String, Codable, Sendable {
    /// One full-picture pass per category with that category's prompt (the reference).
    case perCategory = "per-category"
    /// One pass over all regions together with a combined prompt.
    case single
}

/// Where the harmonizer's output is used.
public enum HarmonizeScope: String, Codable, Sendable {
    /// The whole picture is replaced by the harmonized one (the reference; changes unmasked pixels too).
    case frame
    /// Inside the regions and a feathered band around them; the rest keeps the full-resolution original.
    case regions
}

/// Text prompts for one category: what to paint and what to steer away from.
public struct CategoryPrompt: Codable, Sendable, Equatable {
    public var positive: String
    public var negative: String
    public init(positive: String, negative: String) {
        self.positive = positive
        self.negative = negative
    }
}

/// The prompts of the inpainter (per category, and combined for single passes) and the harmonizer.
public struct SVIAPrompts: Codable, Sendable, Equatable {
    public var categories: [String: CategoryPrompt]
    /// Used by single passes, by video reuse passes, and for categories without their own prompt.
    public var combined: CategoryPrompt
    public var harmonizer: CategoryPrompt

    static let baseNegative = "watermark, username, error, anime, nsfw, low quality, lowres"

    /// The reference's prompts: `masterpiece, realistic, cityscapes, street, {category}, {real|no_humans}`.
    public static let paper: SVIAPrompts = {
        func prompt(_ word: String, person: Bool = false, extraNegative: String = "") -> CategoryPrompt {
            CategoryPrompt(positive: "masterpiece, realistic, cityscapes, street, \(word), \(person ? "real" : "no_humans")",
                           negative: baseNegative + (person ? ", no_humans" : ", human") + extraNegative)
        }
        return SVIAPrompts(
            categories: [
                PrivacyCategory.road.rawValue: prompt("road", extraNegative: ", animal, painting, poster"),
                PrivacyCategory.vehicle.rawValue: prompt("car"),
                PrivacyCategory.person.rawValue: prompt("person", person: true),
                PrivacyCategory.trafficSign.rawValue: prompt("traffic sign"),
                PrivacyCategory.building.rawValue: prompt("building", extraNegative: ", animal, painting"),
                PrivacyCategory.face.rawValue: prompt("person", person: true),
                PrivacyCategory.text.rawValue: CategoryPrompt(positive: "masterpiece, realistic, cityscapes, street, plain surface, no_humans",
                                                              negative: baseNegative + ", text, letters, numbers, human"),
            ],
            combined: CategoryPrompt(positive: "masterpiece, realistic, cityscapes, street, road, car, person, building",
                                     negative: baseNegative),
            harmonizer: CategoryPrompt(positive: "masterpiece, best quality, realistic, photo, street, cityscapes, traffic",
                                       negative: baseNegative + ", bad face"))
    }()

    public func prompt(for category: PrivacyCategory) -> CategoryPrompt {
        categories[category.rawValue] ?? combined
    }

    /// Reads a prompts file: JSON with any of `categories` (name → {positive, negative}), `combined`,
    /// `harmonizer`; what it leaves out keeps `base`'s value.
    public static func load(path: String, over base: SVIAPrompts) throws -> SVIAPrompts {
        struct File: Decodable {
            var categories: [String: CategoryPrompt]?
            var combined: CategoryPrompt?
            var harmonizer: CategoryPrompt?
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw PlanError("\(path): cannot read the prompts file (\(error.localizedDescription))")
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw PlanError("\(path): not a prompts file: \(Self.describe(error)); expected {\"categories\": {\"person\": {\"positive\": ..., \"negative\": ...}}, \"combined\": {...}, \"harmonizer\": {...}}")
        }
        var out = base
        for (name, p) in file.categories ?? [:] {
            guard PrivacyCategory(rawValue: name) != nil else {
                throw PlanError("\(path): unknown category \"\(name)\"; categories are \(PrivacyCategory.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            out.categories[name] = p
        }
        if let c = file.combined { out.combined = c }
        if let h = file.harmonizer { out.harmonizer = h }
        return out
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing \"\(key.stringValue)\" at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "wrong type at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted(let ctx):
            return ctx.debugDescription
        default:
            return "\(error)"
        }
    }
}

/// Every knob of `--method svia`. Start from `SVIASettings(preset:)` and override.
public struct SVIASettings: Sendable {
    public var preset: SVIAPreset

    // Models (Hugging Face hub ids).
    public var inpainterRepository: String
    /// nil: no harmonizer pass.
    public var harmonizerRepository: String?
    /// The tiny autoencoder used instead of each model's own VAE (nil: the models' VAEs).
    public var tinyAutoencoderRepository: String?
    /// SegFormer checkpoints, preferred first; any one found in the cache is used when no label maps are given.
    public var segmenterRepositories: [String]

    // Inpainting.
    public var sampler: SVIASampler
    public var steps: Int
    public var guidance: Float
    public var eta: Float
    public var seed: UInt64
    public var passes: SVIAPasses
    /// Skip categories with no pixels (the reference runs a pass even for an empty mask; the result is the same).
    public var skipEmptyCategories: Bool
    /// Scale of the Laplace noise added inside the regions before inpainting, on 0–255 pixels (0: none).
    public var laplaceScale: Double

    // Harmonizing.
    public var harmonizerSteps: Int
    /// Fraction of the harmonizer's schedule that runs (img2img strength).
    public var strength: Double
    public var harmonizerGuidance: Float
    public var harmonizerSeed: UInt64
    public var harmonizeScope: HarmonizeScope
    /// Width in source pixels of the harmonized band around the regions (scope `regions`).
    public var harmonizeBand: Int

    /// Load the UNets without their fast (Winograd) kernel copies: several GB less memory per UNet, slower.
    public var lowMemory = false

    /// The pictures the networks see: width × height, multiples of 64.
    public var workSize: (width: Int, height: Int)
    public var prompts: SVIAPrompts

    // Video.
    /// Reuse the previous frames' latents, noise and masks; off, every frame is painted from fresh noise.
    public var reuse: Bool
    /// A full inpainting pass every this many frames (and on scene cuts); 0: only on scene cuts.
    public var keyframeInterval: Int
    /// Fraction of the inpainting schedule a reuse pass runs, starting from the carried latents.
    public var reuseStrength: Double
    /// Frames a region stays covered after the segmenter last saw it.
    public var maskMemory: Int
    /// Above this share of a frame's regions not explained by the carried latents (new content, unreliable
    /// motion), the frame gets a full pass.
    public var maxUncoveredShare: Double

    /// The model catalog presets read: `$SVIA_MODEL_CATALOG` when it names a readable catalog, else the built-in one.
    public static var catalog: ModelCatalog { (try? ModelCatalog.active()) ?? .builtIn }

    public init(preset: SVIAPreset) {
        self.preset = preset
        // The models, and the order segmenters are preferred in, are the catalog's preset.
        let catalog = Self.catalog.presets[preset.rawValue] != nil ? Self.catalog : .builtIn
        func first(_ role: ModelRole) -> String? { catalog.slot(preset.rawValue, role: role).first?.repository }
        inpainterRepository = first(.inpainter) ?? first(.fast) ?? ""
        harmonizerRepository = first(.harmonizer) ?? first(.fast)
        tinyAutoencoderRepository = first(.tinyAutoencoder)
        segmenterRepositories = catalog.slot(preset.rawValue, role: .segmenter).map(\.repository)
        sampler = .ddim
        steps = 50
        guidance = 9
        eta = 1
        seed = 19_260_817
        passes = .perCategory
        skipEmptyCategories = false
        laplaceScale = 64
        harmonizerSteps = 50
        strength = 0.2
        harmonizerGuidance = 9
        harmonizerSeed = 42
        harmonizeScope = .frame
        harmonizeBand = 16
        workSize = (1024, 512)
        prompts = .paper
        reuse = true
        keyframeInterval = 30
        reuseStrength = 0.3
        maskMemory = 2
        maxUncoveredShare = 0.25
        switch preset {
        case .paper:
            break
        case .default:
            // DDIM with eta 0 is deterministic given the start noise, which keeps video stable, and holds its
            // result at half the steps.
            steps = 25
            eta = 0
            harmonizerSteps = 25
            skipEmptyCategories = true
            harmonizeScope = .regions
        case .fast:
            sampler = .euler
            steps = 1
            guidance = 0
            eta = 0
            passes = .single
            skipEmptyCategories = true
            harmonizerSteps = 2
            strength = 0.5
            harmonizerGuidance = 0
            harmonizeScope = .regions
            reuseStrength = 0.5
        }
    }

    /// The models this configuration needs, in load order.
    public var repositories: [String] {
        var out = [inpainterRepository]
        if let h = harmonizerRepository, !out.contains(h) { out.append(h) }
        if let t = tinyAutoencoderRepository { out.append(t) }
        return out
    }

    /// UNet evaluations of one full picture with `categories` non-empty regions (guided steps count twice).
    public func fullPassEvaluations(categories: Int) -> Int {
        let passes = self.passes == .single ? min(1, categories) : categories
        return passes * steps * (guidance > 1 ? 2 : 1) + harmonizerEvaluations
    }

    var harmonizerEvaluations: Int {
        guard harmonizerRepository != nil else { return 0 }
        return Self.strengthSteps(harmonizerSteps, strength) * (harmonizerGuidance > 1 ? 2 : 1)
    }

    /// diffusers' img2img step count: int(steps · strength), at least one.
    static func strengthSteps(_ steps: Int, _ strength: Double) -> Int {
        max(1, min(steps, Int(Double(steps) * strength)))
    }

    /// Checks that the values make sense together; the message names the option.
    public func validate() throws {
        func fail(_ s: String) throws -> Never { throw PlanError(s) }
        if !(1...1000).contains(steps) { try fail("--steps must be between 1 and 1000") }
        if !(1...1000).contains(harmonizerSteps) { try fail("--harmonizer-steps must be between 1 and 1000") }
        if !(guidance >= 0 && guidance <= 50) { try fail("--guidance must be between 0 and 50") }
        if !(eta >= 0 && eta <= 1) { try fail("--eta must be between 0 and 1") }
        if !(strength > 0 && strength <= 1) { try fail("--strength must be in (0, 1]") }
        if !(reuseStrength > 0 && reuseStrength <= 1) { try fail("--reuse-strength must be in (0, 1]") }
        if workSize.width % 8 != 0 || workSize.height % 8 != 0 || workSize.width < 8 || workSize.height < 8 {
            try fail("--work-size must be a multiple of 8 on each side (the networks need multiples of 64 for full-size models)")
        }
        if keyframeInterval < 0 { try fail("--keyframe-interval must not be negative") }
        if !(0...16).contains(maskMemory) { try fail("--mask-memory must be between 0 and 16") }
        if !(laplaceScale >= 0 && laplaceScale <= 255) { try fail("--laplace-scale must be between 0 and 255") }
    }
}
