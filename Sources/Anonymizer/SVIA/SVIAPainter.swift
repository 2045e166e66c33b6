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
    /// The same counted in whole working pictures: an evaluation on a window of a quarter of the picture counts a
    /// quarter (what the work of local passes between keyframes amounts to).
    public var unetPictureEvaluations: Double = 0
    /// Full inpainting passes run, per prompt: a category (`vehicle`) or a class with its own prompt (`class:bus`).
    public var inpaintPasses: [String: Int] = [:]
    /// Frames painted with full inpainting passes, and frames painted by a reuse pass from carried latents.
    public var keyframes = 0
    public var reusedFrames = 0
    /// Frames between keyframes where new region content (entering, disoccluded, newly found) was painted
    /// from fresh noise; the other reused frames ran no network.
    public var freshPaintedFrames = 0
    /// Seconds per stage: segment, detect, resize (to the working size), motion (video), inpaint, harmonize,
    /// compose (back to the source size), and on video decode+encode (everything outside the per-frame work).
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
        let work = stats.time("resize") { image.resizedLanczos(width: ww, height: wh) }
        var regions = regions
        if clip != nil {
            stats.time("motion") { clip!.observe(work) }
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
        // Where the harmonizer's result is taken: nil for the whole composite (a full pass), else these cells.
        var harmonizeOnly: Mask? = nil
        var localHarmonize: TimeInterval = 0
        if settings.reuse, !workUnion.isEmpty,
           let carried = clip?.carry(work, union: workUnion, passes: passes, settings: settings, cell: cell) {
            // Between keyframes: the painted content moves with the scene, with no network work where nothing is
            // new; region cells it does not explain are painted from fresh noise, and only they are harmonized.
            composite = carried.picture
            stats.reusedFrames += 1
            harmonizeOnly = carried.fresh
            if !carried.fresh.isEmpty {
                stats.freshPaintedFrames += 1
                let before = stats.unetEvaluations
                // The networks see a window around the new cells (plus context), so their work follows what is new.
                let box = window(around: carried.fresh, width: ww, height: wh)
                defer {
                    stats.unetPictureEvaluations += Double(stats.unetEvaluations - before)
                        * Double(box.width * box.height) / Double(ww * wh)
                }
                let local = passes.map { ($0.key, $0.mask.cropped(box)) }
                let painted = try paintPasses(composite.cropped(box), passes: local, only: carried.fresh.cropped(box),
                                              seed: frameSeed, stats: &stats)
                composite.paste(painted, at: box, inside: carried.fresh)
                harmonizeOnly = carried.fresh.dilated(by: cell).intersection(workUnion)
                if models.harmonizer != nil {
                    let start = Date()
                    let result = try harmonize(composite.cropped(box), stats: &stats)
                    composite.paste(result, at: box, inside: harmonizeOnly!)
                    localHarmonize = Date().timeIntervalSince(start)
                    stats.stageSeconds["harmonize", default: 0] += localHarmonize
                }
            }
        } else {
            let before = stats.unetEvaluations
            composite = try paintPasses(work, passes: passes, only: nil, seed: frameSeed, stats: &stats)
            if clip != nil { stats.keyframes += 1 }
            stats.unetPictureEvaluations += Double(stats.unetEvaluations - before)
        }
        // The local harmonizer pass of a frame between keyframes ran inside this span and has its own stage.
        stats.stageSeconds["inpaint", default: 0] += Date().timeIntervalSince(inpaintStart) - localHarmonize

        let harmonized = models.harmonizer != nil
        if harmonized, harmonizeOnly == nil {
            let start = Date()
            let before = stats.unetEvaluations
            composite = try harmonize(composite, stats: &stats)
            stats.unetPictureEvaluations += Double(stats.unetEvaluations - before)
            stats.stageSeconds["harmonize", default: 0] += Date().timeIntervalSince(start)
        }
        // What was painted this frame is what the next frames carry (a frame that only carried keeps its anchor,
        // so carried content is resampled once from where it was painted, not once per frame).
        if clip != nil, settings.reuse, !workUnion.isEmpty, harmonizeOnly?.isEmpty != true {
            clip!.startAnchor(composite, painted: workUnion)
        }
        clip?.finishFrame()

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

    /// The window the networks see around `cells`: their bounding box grown by `contextCells` latent cells of
    /// context on every side, with sides in multiples of what the UNet's downsampling needs, inside the
    /// `width` x `height` working picture.
    func window(around cells: Mask, width: Int, height: Int) -> PixelBox {
        let levels = max(models.inpainter.unet.config.blockOutChannels.count,
                         models.harmonizer?.unet.config.blockOutChannels.count ?? 0)
        let step = cell << max(0, levels - 1)
        return Self.window(around: cells, width: width, height: height, margin: Self.contextCells * cell, step: step)
    }

    /// Latent cells of context around new content in a local pass.
    static let contextCells = 4

    static func window(around cells: Mask, width: Int, height: Int, margin: Int, step: Int) -> PixelBox {
        var x0 = width, y0 = height, x1 = 0, y1 = 0
        for y in 0..<height {
            for x in 0..<width where cells.bits[y * width + x] != 0 {
                x0 = min(x0, x); x1 = max(x1, x + 1); y0 = min(y0, y); y1 = max(y1, y + 1)
            }
        }
        // [a, b) grown by the margin, out to multiples of `step` (or the picture's edge when that is one).
        func span(_ a: Int, _ b: Int, _ extent: Int) -> (Int, Int) {
            let start = max(0, a - margin) / step * step
            let end = min(extent, (min(extent, b + margin) + step - 1) / step * step)
            return (end - start) % step == 0 ? (start, end - start) : (0, extent)
        }
        guard x1 > x0 else { return PixelBox(x: 0, y: 0, width: width, height: height) }
        let (bx, bw) = span(x0, x1, width), (by, bh) = span(y0, y1, height)
        // A window of most of the picture saves little: the whole picture then, as on a keyframe.
        if 4 * bw * bh > 3 * width * height { return PixelBox(x: 0, y: 0, width: width, height: height) }
        return PixelBox(x: bx, y: by, width: bw, height: bh)
    }

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

    /// Algorithm 1's passes over `picture`: each paints its region with its prompt and keeps it there. No pass
    /// sees an original pixel of any region: the network's mask is the pass's own region plus every region cell
    /// not painted yet, so what a region receives depends only on the pixels outside all regions and on what
    /// earlier passes painted. `only` limits every pass to those cells (new content between keyframes; the rest
    /// of `picture`'s regions already hold painted content).
    func paintPasses(_ picture: RGBImage, passes: [(key: String, mask: Mask)], only: Mask?, seed: UInt64,
                     stats: inout SVIAStats) throws -> RGBImage {
        var composite = picture
        func limited(_ m: Mask) -> Mask { only.map { m.intersection($0) } ?? m }
        var pending = Mask(width: picture.width, height: picture.height)
        for p in passes { pending = pending.union(limited(p.mask)) }
        for (i, p) in passes.enumerated() {
            let own = limited(p.mask)
            if own.isEmpty && (only != nil || settings.skipEmptyCategories) { continue }
            let hidden = own.union(pending)
            let noisy = laplaceNoised(composite, inside: hidden, seed: settings.seed &+ UInt64(i) &+ 1)
            let (painted, _) = try inpaint(noisy, mask: hidden, prompt: models.inpaintPrompts[p.key]!,
                                          seed: seed, steps: settings.steps, strength: 1, initialLatents: nil, stats: &stats)
            if only == nil { stats.inpaintPasses[p.key, default: 0] += 1 }
            composite = BaselineMethod.composite(painted, over: composite, inside: own)
            pending = pending.subtracting(own)
        }
        return composite
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
