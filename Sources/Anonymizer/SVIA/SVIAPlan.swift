import Foundation

/// What `--method svia` will do to one picture, worked out from the settings alone, before any network is loaded
/// (`svia anonymize --dry-run`): stages, models, prompts per pass, steps, seeds, sizes and UNet evaluations.
public struct SVIAPlan: Codable, Sendable, Equatable {
    public struct Size: Codable, Sendable, Equatable {
        public var width: Int
        public var height: Int
        public init(_ size: (width: Int, height: Int)) { (width, height) = size }
    }

    /// A hub repository and the folder it was found in (nil: not in the Hugging Face cache).
    public struct Model: Codable, Sendable, Equatable {
        public var repository: String
        public var path: String?
    }

    /// One inpainting pass: the regions it paints and how.
    public struct Pass: Codable, Sendable, Equatable {
        public var category: String
        /// Cityscapes classes (or the detector) whose pixels this pass paints.
        public var classes: [String]
        public var positive: String
        public var negative: String
        public var sampler: String
        public var eta: Float
        public var steps: Int
        public var guidance: Float
        public var seed: UInt64
        /// false: skipped when its region is empty.
        public var runsWhenEmpty: Bool
        public var unetEvaluations: Int
    }

    public struct Inpaint: Codable, Sendable, Equatable {
        public var model: Model
        /// Scale of the Laplace noise put inside each region first (0–255 pixels).
        public var laplaceScale: Double
        public var passes: [Pass]
    }

    public struct Harmonize: Codable, Sendable, Equatable {
        public var model: Model
        public var positive: String
        public var negative: String
        public var sampler: String
        public var eta: Float
        /// The schedule's length, the img2img strength, and the steps that run: int(steps · strength).
        public var steps: Int
        public var strength: Double
        public var stepsRun: Int
        public var guidance: Float
        public var seed: UInt64
        /// `frame` (the whole picture is replaced) or `regions`.
        public var scope: String
        public var unetEvaluations: Int
    }

    public struct Video: Codable, Sendable, Equatable {
        public var reuse: Bool
        /// Each frame's inpainting seed: `seed` for every frame, or `seed + frame index`.
        public var seedPerFrame: String
        public var maskMemory: Int
        public var keyframeInterval: Int?
    }

    public var preset: String
    /// nil when the input could not be read.
    public var sourceSize: Size?
    public var workingSize: Size
    /// How the picture is brought to the working size, and the painting back to the source's.
    public var resize: String
    public var resizeBack: String
    public var inpaint: Inpaint
    public var compose: String
    public var harmonize: Harmonize?
    /// Per still (per frame painted on its own); an upper bound when passes are skipped for empty regions.
    public var unetEvaluations: Int
    public var unetEvaluationsExact: Bool
    public var video: Video?

    /// The plan for a `source`-sized picture (nil: unknown) whose regions come from `mapping`, plus the detected
    /// categories `detected` (face, text); `models` holds the folders found for the settings' repositories.
    public init(settings s: SVIASettings, mapping: CategoryMapping, detected: [PrivacyCategory],
                source: (width: Int, height: Int)?, video: Bool, models: [String: URL]) {
        preset = s.preset.rawValue
        sourceSize = source.map(Size.init)
        let work = source.map { s.workingSize(width: $0.width, height: $0.height) } ?? s.workSize
        workingSize = Size(work)
        resize = "Lanczos (PIL's LANCZOS filter, a = 3)"
        resizeBack = "bilinear to the source's size (PIL's BILINEAR filter)"
        let sampler = s.sampler.rawValue
        let perStep = s.guidance > 1 ? 2 : 1
        func pass(_ category: String, _ classes: [String], _ prompt: CategoryPrompt) -> Pass {
            Pass(category: category, classes: classes, positive: prompt.positive, negative: prompt.negative,
                 sampler: sampler, eta: s.sampler == .ddim ? s.eta : 0, steps: s.steps, guidance: s.guidance,
                 seed: s.seed, runsWhenEmpty: !s.skipEmptyCategories, unetEvaluations: s.steps * perStep)
        }
        var passes: [Pass] = []
        var everyClass: [String] = []
        for entry in mapping.classes {
            let names = entry.trainIds.map { Cityscapes.labelForTrainId[Int($0)].name }
            everyClass += names
            guard s.passes == .perCategory else { continue }
            // Classes with the same prompt share a pass, in the mapping's order.
            var groups: [(prompt: CategoryPrompt, classes: [String])] = []
            for name in names {
                let prompt = names.count > 1 ? s.prompts.prompt(forClass: name, in: entry.category) : s.prompts.prompt(for: entry.category)
                if let i = groups.firstIndex(where: { $0.prompt == prompt }) { groups[i].classes.append(name) } else { groups.append((prompt, [name])) }
            }
            passes += groups.map { pass(entry.category.rawValue, $0.classes, $0.prompt) }
        }
        for category in detected {
            everyClass.append(category.rawValue)
            if s.passes == .perCategory { passes.append(pass(category.rawValue, [category.rawValue], s.prompts.prompt(for: category))) }
        }
        if s.passes == .single { passes = [pass("combined", everyClass, s.prompts.combined)] }
        func model(_ repo: String) -> Model { Model(repository: repo, path: models[repo]?.path) }
        inpaint = Inpaint(model: model(s.inpainterRepository), laplaceScale: s.laplaceScale, passes: passes)
        compose = "painted pixels inside the regions (grown to whole latent cells), the original outside; no leak"
        if let h = s.harmonizerRepository {
            let run = SVIASettings.strengthSteps(s.harmonizerSteps, s.strength)
            harmonize = Harmonize(model: model(h), positive: s.prompts.harmonizer.positive, negative: s.prompts.harmonizer.negative,
                                  sampler: sampler, eta: s.sampler == .ddim ? s.harmonizerEta : 0, steps: s.harmonizerSteps,
                                  strength: s.strength, stepsRun: run, guidance: s.harmonizerGuidance, seed: s.harmonizerSeed,
                                  scope: s.harmonizeScope.rawValue, unetEvaluations: s.harmonizerEvaluations)
        } else {
            harmonize = nil
        }
        unetEvaluations = passes.map(\.unetEvaluations).reduce(0, +) + (harmonize?.unetEvaluations ?? 0)
        unetEvaluationsExact = !s.skipEmptyCategories
        self.video = video ? Video(
            reuse: s.reuse, seedPerFrame: s.reuse || !s.freshNoisePerFrame ? "seed" : "seed + frame index",
            maskMemory: s.maskMemory, keyframeInterval: s.reuse ? s.keyframeInterval : nil) : nil
    }

    /// The plan as lines for a terminal.
    public var lines: [String] {
        func size(_ s: Size) -> String { "\(s.width)x\(s.height)" }
        func where_(_ m: Model) -> String { m.path ?? "not in the Hugging Face cache" }
        var out = ["  preset \(preset): \(sourceSize.map(size) ?? "?") -> \(size(workingSize)) (\(resize)), painted back at \(sourceSize.map(size) ?? "the source's size")"]
        out.append("  inpaint \(inpaint.model.repository) (\(where_(inpaint.model))), Laplace noise \(inpaint.laplaceScale):")
        for p in inpaint.passes {
            out.append("    \(p.category) [\(p.classes.joined(separator: ", "))]: \(p.sampler) \(p.steps) steps, eta \(p.eta), guidance \(p.guidance), seed \(p.seed)\(p.runsWhenEmpty ? "" : ", skipped when empty")")
            out.append("      + \(p.positive)")
            out.append("      - \(p.negative)")
        }
        if let h = harmonize {
            out.append("  harmonize \(h.model.repository) (\(where_(h.model))): \(h.sampler) \(h.stepsRun) of \(h.steps) steps (strength \(h.strength)), eta \(h.eta), guidance \(h.guidance), seed \(h.seed), scope \(h.scope)")
            out.append("      + \(h.positive)")
            out.append("      - \(h.negative)")
        } else {
            out.append("  harmonize: off")
        }
        out.append("  UNet evaluations per picture: \(unetEvaluationsExact ? "" : "at most ")\(unetEvaluations)")
        if let v = video {
            out.append("  video: reuse \(v.reuse ? "on" : "off"), seed per frame: \(v.seedPerFrame), mask memory \(v.maskMemory)"
                       + (v.keyframeInterval.map { ", keyframe every \($0) frames" } ?? ""))
        }
        return out
    }
}
