import Anonymizer
import ArgumentParser
import Foundation

/// The knobs of `--method svia`: a preset, and any of its values overridden.
struct DiffusionArguments: ParsableArguments {
    @Option(help: "paper (the reference: 50 DDIM steps per category, 520 UNet evaluations per picture), default (privacy categories, empty ones skipped, 25 deterministic steps), fast (sd-turbo + tiny autoencoder, one pass, 1 step; non-commercial licence).")
    var preset: SVIAPreset = .default

    @Option(help: "Inpainting model: a hub id in the Hugging Face cache (e.g. a copy such as sd2-community/stable-diffusion-2-inpainting).")
    var inpainter: String?
    @Option(help: "Harmonizer model: a hub id in the Hugging Face cache (a text-to-image SD 2.x model).")
    var harmonizer: String?
    @Option(help: "Inpainting denoising steps.")
    var steps: Int?
    @Option(help: "Classifier-free guidance scale of the inpainter (≤ 1: off, half the UNet work).")
    var guidance: Float?
    @Option(help: "DDIM eta of the inpainter (0: deterministic, 1: the reference).")
    var eta: Float?
    @Option(help: "DDIM eta of the harmonizer (1 for paper, as the reference; 0 for default).")
    var harmonizerEta: Float?
    @Option(help: "Harmonizer strength: the fraction of its schedule that runs.")
    var strength: Double?
    @Option(help: "Harmonizer schedule length (steps run: this × strength).")
    var harmonizerSteps: Int?
    @Option(help: "Harmonizer guidance scale.")
    var harmonizerGuidance: Float?
    @Option(help: "Seed of the inpainting noise (the same for every category and every frame of a clip).")
    var seed: UInt64?
    @Option(help: "Seed of the harmonizer's noise.")
    var harmonizerSeed: UInt64?
    @Option(help: "Size the diffusion models work at, WxH, multiples of 64 for full-size models, used as given (default: 1024x512 for paper, the reference's; default and fast: the picture's aspect ratio at about 1024x512's area, e.g. 1024x576 for 16:9).")
    var workSize: String?
    @Option(help: "JSON file of prompts: {\"categories\": {\"person\": {\"positive\": ..., \"negative\": ...}}, \"combined\": {...}, \"harmonizer\": {...}}.")
    var prompts: String?
    @Option(help: "per-category (one pass per category, the reference) or single (one pass for all regions).")
    var passes: SVIAPasses?
    @Flag(inversion: .prefixedNo, help: "Run the harmonizer pass.")
    var harmonize = true
    @Option(help: "Where the harmonized picture is used: frame (everywhere, the reference) or regions (inside them and a band around).")
    var harmonizeScope: HarmonizeScope?
    @Option(help: "Scale of the Laplace noise put inside regions before inpainting, on 0-255 (0: none).")
    var laplaceScale: Double?

    @Flag(help: "Load the UNets without their fast-kernel copies: several GB less memory (about 7 GB less for paper/default at full size), slower.")
    var lowMemory = false

    @Flag(inversion: .prefixedNo, help: "Video: carry painted content with the scene and paint only what is new (default on; off for paper, which paints every frame as the reference paints a still; off: flickers).")
    var reuse: Bool?
    @Option(help: "Video: a full inpainting pass every N frames and on scene cuts (0: scene cuts only).")
    var keyframeInterval: Int?
    @Option(help: "Video: frames a region stays covered after the segmenter last saw it.")
    var maskMemory: Int?

    /// The preset with the options given on the command line applied.
    func settings() throws -> SVIASettings {
        var s = SVIASettings(preset: preset)
        if let inpainter { s.inpainterRepository = inpainter }
        if let harmonizer { s.harmonizerRepository = harmonizer }
        if let steps { s.steps = steps }
        if let guidance { s.guidance = guidance }
        if let eta { s.eta = eta }
        if let harmonizerEta { s.harmonizerEta = harmonizerEta }
        if let strength { s.strength = strength }
        if let harmonizerSteps { s.harmonizerSteps = harmonizerSteps }
        if let harmonizerGuidance { s.harmonizerGuidance = harmonizerGuidance }
        if let seed { s.seed = seed }
        if let harmonizerSeed { s.harmonizerSeed = harmonizerSeed }
        if let workSize {
            s.workSize = try parseSize(workSize, option: "--work-size", example: "1024x512")
            s.keepAspect = false
        }
        if let passes { s.passes = passes }
        if !harmonize { s.harmonizerRepository = nil }
        if let harmonizeScope { s.harmonizeScope = harmonizeScope }
        if let laplaceScale { s.laplaceScale = laplaceScale }
        if let reuse { s.reuse = reuse }
        s.lowMemory = lowMemory
        if let keyframeInterval { s.keyframeInterval = keyframeInterval }
        if let maskMemory { s.maskMemory = maskMemory }
        if let prompts {
            do { s.prompts = try SVIAPrompts.load(path: prompts, over: s.prompts) } catch { throw ValidationError("\(error)") }
        }
        do { try s.validate() } catch { throw ValidationError("\(error)") }
        return s
    }
}
