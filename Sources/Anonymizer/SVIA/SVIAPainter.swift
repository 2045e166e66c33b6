import Foundation
import MediaIO
import Networks
import TensorCore

/// What `--method svia` did to one file, for `--report`.
public struct SVIAStats: Codable, Sendable, Equatable {
    public var preset: String = ""
    public var seeds: [String: UInt64] = [:]
    /// UNet evaluations (a guided step counts two: the conditional and the unconditional branch).
    public var unetEvaluations = 0
    /// Full inpainting passes run, per prompt: a category (`vehicle`) or a class with its own prompt (`class:bus`).
    public var inpaintPasses: [String: Int] = [:]
    /// Frames painted with full inpainting passes, and frames painted by a reuse pass from carried latents.
    public var keyframes = 0
    public var reusedFrames = 0
    /// Seconds per stage: segment, detect, inpaint, harmonize, compose.
    public var stageSeconds: [String: Double] = [:]

    public init() {}

    mutating func time<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
        let start = Date()
        defer { stageSeconds[stage, default: 0] += Date().timeIntervalSince(start) }
        return try body()
    }
}

/// Algorithm 1 of SVIA on one picture: Laplace noise inside each region, an inpainting pass per category
/// (or one for all), composition over the original, and the harmonizer pass; at a fixed working size, written
/// back at the picture's own size over its untouched full-resolution original.
public struct SVIAPainter: Sendable {
    public let settings: SVIASettings
    let models: SVIAModels

    public init(settings: SVIASettings, models: SVIAModels) {
        self.settings = settings
        self.models = models
    }

    /// Pixels per latent cell of the inpainter.
    var cell: Int { models.inpainter.autoencoder.scaleFactor }

    /// The anonymized picture. `regions` are at the picture's size; inside them no original pixel survives;
    /// outside them the picture is unchanged unless the harmonizer's scope is the whole frame (or `feather`
    /// blends a soft edge outward). `classes` splits a category's region into passes by class prompt.
    /// `clip` carries what video frames share (nil for a still).
    public func paint(_ image: RGBImage, regions: CategoryRegions, classes: [ClassRegion] = [], feather: Int,
                      clip: inout SVIAClip?, stats: inout SVIAStats) throws -> (image: RGBImage, mask: Mask) {
        let (ww, wh) = settings.workingSize(width: image.width, height: image.height)
        // The reference brings every picture to its working size with PIL's Lanczos filter.
        let work = image.resizedLanczos(width: ww, height: wh)
        var regions = regions
        if clip != nil {
            clip!.observe(work)
            regions = clip!.remembered(regions)
        }
        var union = Mask(width: image.width, height: image.height)
        for r in regions { union = union.union(r.mask) }
        // Each category's region at the working size, grown to whole latent cells so that no part of it is
        // left to the autoencoder's reconstruction of the original.
        var passes: [(key: String, mask: Mask)] = []
        switch settings.passes {
        case .perCategory:
            for r in regions where !(settings.skipEmptyCategories && r.mask.isEmpty) {
                for part in Self.promptParts(r.mask, category: r.category, classes: classes, prompts: settings.prompts) {
                    passes.append((part.key, coverMask(part.mask, width: ww, height: wh)))
                }
            }
        case .single:
            if !union.isEmpty || !settings.skipEmptyCategories {
                passes.append(("combined", coverMask(union, width: ww, height: wh)))
            }
        }
        var workUnion = Mask(width: ww, height: wh)
        for p in passes { workUnion = workUnion.union(p.mask) }

        var composite: RGBImage
        let frameSeed = clip.map { settings.reuse || !settings.freshNoisePerFrame ? settings.seed : settings.seed &+ UInt64($0.frameIndex) } ?? settings.seed
        let inpaintStart = Date()
        if settings.reuse, !workUnion.isEmpty, let carried = clip?.carriedLatents(mask: workUnion, settings: settings, cell: cell) {
            // Between keyframes: one pass over all regions from the latents carried along from the last keyframe.
            composite = try reusePass(work, mask: workUnion, from: carried, seed: frameSeed, stats: &stats)
            stats.reusedFrames += 1
        } else {
            composite = work
            for (i, p) in passes.enumerated() where !p.mask.isEmpty || !settings.skipEmptyCategories {
                let noisy = laplaceNoised(work, inside: p.mask, seed: settings.seed &+ UInt64(i) &+ 1)
                let (painted, _) = try inpaint(noisy, mask: p.mask, prompt: models.inpaintPrompts[p.key]!,
                                              seed: frameSeed, steps: settings.steps, strength: 1,
                                              initialLatents: nil, stats: &stats)
                stats.inpaintPasses[p.key, default: 0] += 1
                composite = BaselineMethod.composite(painted, over: composite, inside: p.mask)
            }
            if clip != nil { stats.keyframes += 1 }
            if clip != nil, settings.reuse, !workUnion.isEmpty {
                // The keyframe's composite becomes the anchor the following frames are refined from; the keyframe
                // itself takes the same refinement so that a static scene gives identical frames.
                let anchor = try encodeLatents(composite, seed: frameSeed)
                clip!.startAnchor(anchor, mask: workUnion)
                composite = try reusePass(work, mask: workUnion, from: anchor, seed: frameSeed, stats: &stats)
            }
        }
        clip?.finishFrame()
        stats.stageSeconds["inpaint", default: 0] += Date().timeIntervalSince(inpaintStart)

        var harmonized = false
        if models.harmonizer != nil {
            let start = Date()
            composite = try harmonize(composite, stats: &stats)
            stats.stageSeconds["harmonize", default: 0] += Date().timeIntervalSince(start)
            harmonized = true
        }

        let out: RGBImage = stats.time("compose") {
            let generated = RGBImage(width: image.width, height: image.height, pixels: SegFormerImageProcessor.resizeRGB(
                composite.pixels, width: ww, height: wh, toWidth: image.width, toHeight: image.height))
            if harmonized && settings.harmonizeScope == .frame { return generated }
            let radius = harmonized ? max(feather, settings.harmonizeBand) : feather
            return BaselineMethod.blend(generated, over: image, weights: union.featherWeights(radius: radius))
        }
        return (out, union)
    }

    // MARK: Stages

    /// The key of a class's prompt embedding in `SVIAModels.inpaintPrompts`.
    static func classKey(_ name: String) -> String { "class:" + name }

    /// A category's region split into one part per distinct prompt of the classes in it (classes with the same
    /// prompt share a part); pixels no class claims (dilation kept apart, mask memory) join the largest part.
    /// One part under the category's key when the category has no classes of its own.
    static func promptParts(_ mask: Mask, category: PrivacyCategory, classes: [ClassRegion],
                            prompts: SVIAPrompts) -> [(key: String, mask: Mask)] {
        let own = classes.filter { $0.category == category }
        guard !own.isEmpty, !mask.isEmpty else { return [(category.rawValue, mask)] }
        var parts: [(key: String, prompt: CategoryPrompt, mask: Mask)] = []
        var claimed = [UInt8](repeating: 0, count: mask.bits.count)
        for c in own where c.mask.width == mask.width && c.mask.height == mask.height {
            let prompt = prompts.prompt(forClass: c.className, in: category)
            let key = prompts.classes[c.className] != nil ? classKey(c.className) : category.rawValue
            var index = parts.firstIndex { $0.prompt == prompt }
            if index == nil {
                parts.append((key, prompt, Mask(width: mask.width, height: mask.height)))
                index = parts.count - 1
            }
            for i in mask.bits.indices where mask.bits[i] != 0 && c.mask.bits[i] != 0 && claimed[i] == 0 {
                parts[index!].mask.bits[i] = 1
                claimed[i] = 1
            }
        }
        parts.removeAll { $0.mask.isEmpty }
        guard let largest = parts.indices.max(by: { parts[$0].mask.area < parts[$1].mask.area }) else {
            return [(category.rawValue, mask)]
        }
        for i in mask.bits.indices where mask.bits[i] != 0 && claimed[i] == 0 { parts[largest].mask.bits[i] = 1 }
        return parts.map { ($0.key, $0.mask) }
    }

    /// A source-size region at the working size: every working pixel any of whose source pixels is inside,
    /// grown by the reach of the filter that resizes the painting back to the source (so no working pixel it
    /// reads for a region pixel is outside the painted area) and then to whole latent cells.
    func coverMask(_ mask: Mask, width: Int, height: Int) -> Mask {
        Self.coverMask(mask, width: width, height: height, cell: cell)
    }

    static func coverMask(_ mask: Mask, width: Int, height: Int, cell c: Int) -> Mask {
        var small = Mask(width: width, height: height)
        if mask.isEmpty { return small }
        for y in 0..<height {
            let y0 = y * mask.height / height, y1 = max(y0 + 1, ((y + 1) * mask.height + height - 1) / height)
            for x in 0..<width {
                let x0 = x * mask.width / width, x1 = max(x0 + 1, ((x + 1) * mask.width + width - 1) / width)
                var hit = false
                outer: for sy in y0..<min(y1, mask.height) {
                    for sx in x0..<min(x1, mask.width) where mask.bits[sy * mask.width + sx] != 0 { hit = true; break outer }
                }
                if hit { small.bits[y * width + x] = 1 }
            }
        }
        // Resizing back reads about max(1, work/source) working pixels on each side of a pixel's centre.
        let reach = max(Double(width) / Double(mask.width), Double(height) / Double(mask.height), 1)
        small = small.dilated(by: Int(reach.rounded(.up)) + 1)
        var aligned = Mask(width: width, height: height)
        for cy in stride(from: 0, to: height, by: c) {
            for cx in stride(from: 0, to: width, by: c) {
                var any = false
                for y in cy..<min(height, cy + c) where !any {
                    for x in cx..<min(width, cx + c) where small.bits[y * width + x] != 0 { any = true; break }
                }
                guard any else { continue }
                for y in cy..<min(height, cy + c) { for x in cx..<min(width, cx + c) { aligned.bits[y * width + x] = 1 } }
            }
        }
        return aligned
    }

    /// The picture with Laplace(0, scale) noise added inside `mask` (on 0–255, clipped), as SVIA hides what
    /// an inpainter might read of the masked pixels.
    func laplaceNoised(_ image: RGBImage, inside mask: Mask, seed: UInt64) -> RGBImage {
        Self.laplaceNoised(image, inside: mask, scale: settings.laplaceScale, seed: seed)
    }

    static func laplaceNoised(_ image: RGBImage, inside mask: Mask, scale: Double, seed: UInt64) -> RGBImage {
        guard scale > 0 else { return image }
        var rng = SplitMix64(seed: seed)
        var out = image
        for i in 0..<mask.bits.count where mask.bits[i] != 0 {
            for k in 0..<3 {
                let u = rng.nextUnit() - 0.5
                let n = -scale * (u < 0 ? -1.0 : 1.0) * Foundation.log(max(1e-12, 1 - 2 * abs(u)))
                out.pixels[3 * i + k] = UInt8(max(0, min(255, (Double(image.pixels[3 * i + k]) + n).rounded())))
            }
        }
        return out
    }

    /// The settings' sampler with `eta` on the beta schedule the model's repository ships.
    func scheduler(for model: DiffusionModel, steps: Int, eta: Float) throws -> any Scheduler {
        try model.scheduler.makeScheduler(settings.sampler == .ddim ? .ddim(eta: eta) : .eulerDiscrete, steps: steps)
    }

    /// SD2 inpainting's 9-channel UNet reads the mask and the masked picture; a text-to-image UNet (sd-turbo)
    /// inpaints by putting the picture's latents back outside the mask after every step.
    var inpaintingPipeline: any InpaintingPipeline {
        get throws {
            let m = models.inpainter
            return m.unet.config.inChannels == 9
                ? try InpaintPipeline(unet: m.unet, autoencoder: m.autoencoder)
                : try LatentBlendInpaintPipeline(unet: m.unet, autoencoder: m.autoencoder)
        }
    }

    /// One inpainting run at the working size; returns the decoded picture and the final latents.
    func inpaint(_ image: RGBImage, mask: Mask, prompt: PromptEmbedding, seed: UInt64, steps: Int, strength: Double,
                 initialLatents: Tensor?, stats: inout SVIAStats) throws -> (RGBImage, Tensor) {
        let model = models.inpainter
        let x = DiffusionImage.tensor(rgb: image.pixels, width: image.width, height: image.height)
        let m = Tensor(shape: [1, 1, image.height, image.width], scalars: mask.bits.map { Float($0) })
        let scheduler = try scheduler(for: model, steps: steps, eta: self.settings.eta)
        let settings = DiffusionSettings(guidanceScale: self.settings.guidance, strength: strength)
        var run = try inpaintingPipeline.start(
            image: x, mask: m, prompt: prompt.positive, negativePrompt: prompt.negative, scheduler: scheduler,
            settings: settings, noise: .seeded(seed), initialLatents: initialLatents)
        let perStep = self.settings.guidance > 1 ? 2 : 1
        while run.next() != nil { stats.unetEvaluations += perStep }
        let decoded = run.decode()
        return (RGBImage(width: image.width, height: image.height, pixels: DiffusionImage.rgb(decoded)), run.latents)
    }

    /// A short inpainting pass over all regions that starts from carried latents instead of noise.
    func reusePass(_ work: RGBImage, mask: Mask, from latents: Tensor, seed: UInt64,
                   stats: inout SVIAStats) throws -> RGBImage {
        // A schedule long enough that `reuseStrength` of it is at least one step.
        let steps = max(settings.steps, Int((1 / settings.reuseStrength).rounded(.up)))
        let (painted, _) = try inpaint(work, mask: mask, prompt: models.inpaintPrompts["combined"]!, seed: seed,
                                       steps: steps, strength: settings.reuseStrength, initialLatents: latents, stats: &stats)
        return BaselineMethod.composite(painted, over: work, inside: mask)
    }

    /// Scaled latents of a working-size picture in the inpainter's latent space.
    func encodeLatents(_ image: RGBImage, seed: UInt64) throws -> Tensor {
        let ae = models.inpainter.autoencoder
        var noise = PipelineNoise.seeded(seed ^ 0x5eed_1a7e)
        let x = DiffusionImage.tensor(rgb: image.pixels, width: image.width, height: image.height)
        return ae.encodeLatents(x, noise: &noise) * ae.latentScalingFactor
    }

    /// Algorithm 3: a short img2img pass over the whole composite. Its noise is the same for every frame of
    /// a clip, so an unchanged composite gives an unchanged result.
    func harmonize(_ image: RGBImage, stats: inout SVIAStats) throws -> RGBImage {
        guard let model = models.harmonizer, let prompt = models.harmonizerPrompt else { return image }
        let x = DiffusionImage.tensor(rgb: image.pixels, width: image.width, height: image.height)
        let scheduler = try scheduler(for: model, steps: settings.harmonizerSteps, eta: settings.harmonizerEta)
        var run = try Img2ImgPipeline(unet: model.unet, autoencoder: model.autoencoder).start(
            image: x, prompt: prompt.positive, negativePrompt: prompt.negative, scheduler: scheduler,
            settings: DiffusionSettings(guidanceScale: settings.harmonizerGuidance, strength: settings.strength),
            noise: .seeded(settings.harmonizerSeed))
        let perStep = settings.harmonizerGuidance > 1 ? 2 : 1
        while run.next() != nil { stats.unetEvaluations += perStep }
        return RGBImage(width: image.width, height: image.height, pixels: DiffusionImage.rgb(run.decode()))
    }
}

/// A small seeded generator for the Laplace noise (SplitMix64).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
