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

/// The prompts of the inpainter (per category, per Cityscapes class, and combined for single passes) and the
/// harmonizer.
public struct SVIAPrompts: Codable, Sendable, Equatable {
    public var categories: [String: CategoryPrompt]
    /// Per Cityscapes class name (`truck`, `rider`, ...) for categories that group several classes; a class without
    /// its own prompt takes its category's.
    public var classes: [String: CategoryPrompt]
    /// Used by single passes, by video reuse passes, and for categories without their own prompt.
    public var combined: CategoryPrompt
    public var harmonizer: CategoryPrompt

    static let baseNegative = "watermark, username, error, anime, nsfw, low quality, lowres"

    /// `masterpiece, realistic, cityscapes, street, {subject}, {real|no_humans}` and its negative, as the reference
    /// writes them (people get `real`, everything else `no_humans`).
    static func street(_ subject: String, person: Bool = false, extraNegative: String = "") -> CategoryPrompt {
        CategoryPrompt(positive: "masterpiece, realistic, cityscapes, street, \(subject), \(person ? "real" : "no_humans")",
                       negative: baseNegative + (person ? ", no_humans" : ", human") + extraNegative)
    }

    /// The reference's prompts (`src/inpaint_test.py`: its categories are named road, car, human, traffic sign,
    /// building).
    public static let paper = SVIAPrompts(
        categories: [
            PrivacyCategory.road.rawValue: street("road", extraNegative: ", animal, painting, poster"),
            PrivacyCategory.vehicle.rawValue: street("car"),
            PrivacyCategory.person.rawValue: street("human", person: true),
            PrivacyCategory.trafficSign.rawValue: street("traffic sign"),
            PrivacyCategory.building.rawValue: street("building", extraNegative: ", animal, painting"),
            PrivacyCategory.face.rawValue: street("person", person: true),
            PrivacyCategory.text.rawValue: CategoryPrompt(positive: "masterpiece, realistic, cityscapes, street, plain surface, no_humans",
                                                          negative: baseNegative + ", text, letters, numbers, human"),
        ],
        classes: [:],
        combined: CategoryPrompt(positive: "masterpiece, realistic, cityscapes, street, road, car, person, building",
                                 negative: baseNegative),
        harmonizer: CategoryPrompt(positive: "masterpiece, best quality, realistic, photo, street, cityscapes, traffic",
                                   negative: baseNegative + ", bad face"))

    /// The reference's prompt style with a prompt for every Cityscapes class a privacy category groups, so a bus is
    /// painted as a bus and a rider as a cyclist.
    public static let privacy: SVIAPrompts = {
        var p = paper
        p.categories[PrivacyCategory.person.rawValue] = street("person", person: true)
        p.classes = [
            "sidewalk": street("sidewalk", extraNegative: ", animal, painting, poster"),
            "wall": street("wall", extraNegative: ", animal, painting"),
            "fence": street("fence", extraNegative: ", animal, painting"),
            "traffic light": street("traffic light"),
            "rider": street("cyclist", person: true),
            "truck": street("truck"),
            "bus": street("bus"),
            "train": street("train"),
            "motorcycle": street("motorcycle"),
            "bicycle": street("bicycle"),
        ]
        return p
    }()

    public func prompt(for category: PrivacyCategory) -> CategoryPrompt {
        categories[category.rawValue] ?? combined
    }

    /// The prompt of a Cityscapes class (by name) inside `category`.
    public func prompt(forClass name: String, in category: PrivacyCategory) -> CategoryPrompt {
        classes[name] ?? prompt(for: category)
    }

    /// Reads a prompts file: JSON with any of `categories` (name → {positive, negative}), `classes` (Cityscapes
    /// class name → {positive, negative}), `combined`, `harmonizer`; what it leaves out keeps `base`'s value.
    public static func load(path: String, over base: SVIAPrompts) throws -> SVIAPrompts {
        struct File: Decodable {
            var categories: [String: CategoryPrompt]?
            var classes: [String: CategoryPrompt]?
            var combined: CategoryPrompt?
            var harmonizer: CategoryPrompt?
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw PlanError("\(path): cannot read the prompts file (\(error.localizedDescription))")
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw PlanError("\(path): not a prompts file: \(Self.describe(error)); expected {\"categories\": {\"person\": {\"positive\": ..., \"negative\": ...}}, \"classes\": {\"bus\": {...}}, \"combined\": {...}, \"harmonizer\": {...}}")
        }
        var out = base
        for (name, p) in file.categories ?? [:] {
            guard PrivacyCategory(rawValue: name) != nil else {
                throw PlanError("\(path): unknown category \"\(name)\"; categories are \(PrivacyCategory.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            out.categories[name] = p
        }
        for (name, p) in file.classes ?? [:] {
            guard Cityscapes.labelForTrainId.contains(where: { $0.name == name }) else {
                throw PlanError("\(path): unknown Cityscapes class \"\(name)\"; classes are \(Cityscapes.labelForTrainId.map(\.name).joined(separator: ", "))")
            }
            out.classes[name] = p
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
    /// DDIM eta of the harmonizer (the reference runs its img2img with eta 1, separately from the inpainter's).
    public var harmonizerEta: Float
    public var harmonizerSeed: UInt64
    public var harmonizeScope: HarmonizeScope
    /// Width in source pixels of the harmonized band around the regions (scope `regions`).
    public var harmonizeBand: Int

    /// Load the UNets without their fast (Winograd) kernel copies: several GB less memory per UNet, slower.
    public var lowMemory = false

    /// The pictures the networks see: width × height, multiples of 64; with `keepAspect`, the area to aim at.
    public var workSize: (width: Int, height: Int)
    /// Give each picture a working size of its own aspect ratio near `workSize`'s area instead of stretching it to
    /// `workSize` (the reference stretches every picture to 1024x512).
    public var keepAspect: Bool
    public var prompts: SVIAPrompts

    // Video.
    /// Carry painted content with the scene's motion between keyframes and paint only what is new; off, every
    /// frame is painted on its own.
    public var reuse: Bool
    /// Without reuse: each frame's inpainting noise is seeded with `seed` + the frame's index (fresh noise);
    /// false paints every frame with `seed`, as the reference paints every still.
    public var freshNoisePerFrame: Bool
    /// A full inpainting pass every this many frames (and on scene cuts); 0: only on scene cuts.
    public var keyframeInterval: Int
    /// Frames a region stays covered after the segmenter last saw it.
    public var maskMemory: Int
    /// Above this share of one category's region not explained by the carried content (new content,
    /// unreliable motion), the frame becomes a keyframe.
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
        harmonizerEta = 1
        harmonizerSeed = 42
        harmonizeScope = .frame
        harmonizeBand = 16
        workSize = (1024, 512)
        keepAspect = false
        prompts = .paper
        reuse = true
        freshNoisePerFrame = true
        keyframeInterval = 30
        maskMemory = 2
        maxUncoveredShare = 0.25
        switch preset {
        case .paper:
            // Every frame of a video is painted as the reference paints a still: on its own, from the same seed,
            // with no mask memory.
            reuse = false
            freshNoisePerFrame = false
            maskMemory = 0
        case .default:
            // DDIM with eta 0 is deterministic given the start noise, which keeps video stable, and holds its
            // result at half the steps.
            steps = 25
            eta = 0
            harmonizerEta = 0
            harmonizerSteps = 25
            skipEmptyCategories = true
            harmonizeScope = .regions
            keepAspect = true
            prompts = .privacy
        case .fast:
            sampler = .euler
            steps = 1
            guidance = 0
            eta = 0
            harmonizerEta = 0
            passes = .single
            skipEmptyCategories = true
            harmonizerSteps = 2
            strength = 0.5
            harmonizerGuidance = 0
            harmonizeScope = .regions
            keepAspect = true
            prompts = .privacy
        }
    }

    /// The working size of a `width`×`height` picture: `workSize`, or with `keepAspect` the size in multiples
    /// of 64 nearest the picture's aspect ratio and `workSize`'s area (aspect counted twice as much as area).
    public func workingSize(width: Int, height: Int) -> (width: Int, height: Int) {
        guard keepAspect, width > 0, height > 0 else { return workSize }
        let unit = 64
        let area = Double(workSize.width * workSize.height), ratio = Double(width) / Double(height)
        var best = workSize, bestCost = Double.infinity
        let side = Int(area.squareRoot())
        for h in stride(from: unit, through: max(unit, 4 * side), by: unit) {
            let ideal = Double(h) * ratio / Double(unit)
            for w in Set([max(1, Int(ideal.rounded(.down))), max(1, Int(ideal.rounded(.up)))]).sorted().map({ $0 * unit }) {
                let aspectError = abs(Foundation.log(Double(w) / Double(h) / ratio))
                let areaError = abs(Foundation.log(Double(w * h) / area))
                let cost = 2 * aspectError + areaError
                if cost < bestCost - 1e-12 || (abs(cost - bestCost) <= 1e-12 && w * h < best.width * best.height) {
                    best = (w, h)
                    bestCost = cost
                }
            }
        }
        return best
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
        if !(harmonizerEta >= 0 && harmonizerEta <= 1) { try fail("--harmonizer-eta must be between 0 and 1") }
        if !(strength > 0 && strength <= 1) { try fail("--strength must be in (0, 1]") }
        if workSize.width % 8 != 0 || workSize.height % 8 != 0 || workSize.width < 8 || workSize.height < 8 {
            try fail("--work-size must be a multiple of 8 on each side (the networks need multiples of 64 for full-size models)")
        }
        if keyframeInterval < 0 { try fail("--keyframe-interval must not be negative") }
        if !(0...16).contains(maskMemory) { try fail("--mask-memory must be between 0 and 16") }
        if !(laplaceScale >= 0 && laplaceScale <= 255) { try fail("--laplace-scale must be between 0 and 255") }
    }
}
