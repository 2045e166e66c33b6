import Anonymizer
import ArgumentParser
import Foundation
import MediaIO

extension ReplacementMethod: ExpressibleByArgument {}
extension SVIAPreset: ExpressibleByArgument {}
extension SVIAPasses: ExpressibleByArgument {}
extension HarmonizeScope: ExpressibleByArgument {}
extension LabelFormat: ExpressibleByArgument {}
extension VideoCodecChoice: ExpressibleByArgument {}
extension AudioPolicy: ExpressibleByArgument {}

/// Options shared by commands that write video.
struct EncodeArguments: ParsableArguments {
    @Option(help: "Video codec of the output (h264, hevc, mpeg4).")
    var codec: VideoCodecChoice = .h264
    @Option(help: "Constant rate factor for h264/hevc (lower is better quality; default 18).")
    var crf: Int?
    @Option(help: "Encoder speed preset of h264/hevc (ultrafast ... veryslow; ffmpeg's -preset).")
    var encodePreset: String = "veryfast"
    @Option(help: "Audio: drop (default; in-cabin speech is personal data) or keep (copied, or AAC when the container needs it).")
    var audio: AudioPolicy = .drop
    @Flag(help: "Keep metadata tags and the data/subtitle streams the container can hold (GPS tracks included).")
    var keepMetadata = false

    func validate() throws {
        if let crf, !(0...51).contains(crf) { throw ValidationError("--crf must be between 0 and 51") }
        let presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
        if !presets.contains(encodePreset) { throw ValidationError("--encode-preset must be one of \(presets.joined(separator: ", "))") }
    }

    var options: EncodeOptions {
        var o = EncodeOptions()
        o.codec = codec
        o.crf = crf
        o.preset = encodePreset
        o.audio = audio
        o.keepMetadata = keepMetadata
        return o
    }
}

struct AnonymizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anonymize",
        abstract: "Replace privacy-sensitive regions in videos, images and folders of them.",
        discussion: """
            An input is a video (.mp4 .mov .mkv .avi ...), an image (.png .jpg) or a folder, searched \
            recursively with its tree mirrored under OUTPUT. Without -o, outputs are written beside the inputs \
            as NAME_anonymized.EXT. Location tags, creation times, device names, GPS/data/subtitle streams and \
            audio are removed unless asked otherwise.
            """)

    @Argument(help: "Videos, images or folders (none with --plan).")
    var inputs: [String] = []

    @Option(name: .shortAndLong, help: "Output file (single input) or folder.")
    var output: String?

    @Option(help: "How regions are replaced: svia (diffusion; default), blur, pixelate, graymask.")
    var method: ReplacementMethod = .svia

    @Option(help: "Folder of Cityscapes label maps: NAME.png per image, NAME/%06d.png per video frame (0-based).")
    var masks: String?

    @OptionGroup var segmenterArguments: SegmenterArguments

    @Option(help: "Numbering of the label maps: trainIds (0-18, 255 unlabeled) or labelIds (0-33).")
    var labelFormat: LabelFormat = .trainIds

    @Option(help: "Categories to replace, comma-separated: person, vehicle, traffic-sign, road, building (default: all).")
    var categories: String?

    @Option(help: "Category mapping: privacy (riders, bicycles, buses, trucks, trains included) or paper (the reference's narrow list; the paper preset's default).")
    var mapping: String?

    @Option(help: "Grow every region by this many pixels so its edges do not leak.")
    var dilate: Int = 0

    @Option(help: "Drop label-map or segmenter regions smaller than this many pixels (specks; 0 keeps all).")
    var minRegion: Int = 0

    @Option(help: "Soft edge of this many pixels outside every region (the inside is always fully replaced).")
    var feather: Int = 0

    @Option(help: "Gaussian blur sigma in pixels (default: 1.5% of the longer side).")
    var blurSigma: Double?

    @Option(help: "Pixelation block size in pixels.")
    var pixelBlock: Int = 8

    @Option(help: "Shipped detectors whose regions are added: faces, text (plates, sign text, burned-in overlays), or none (default faces,text; none for --preset paper).")
    var detect: String?

    @Option(help: "How detected faces and text are replaced with --method blur, pixelate or graymask (default: the --method itself). Under --method svia they are diffusion-painted with the other regions.")
    var detectReplace: ReplacementMethod?

    @Option(help: "Face detection threshold (0-1).")
    var faceThreshold: Float = 0.2

    @Option(help: "Run the detectors at WxH (e.g. 640x360) and map regions back to full resolution.")
    var detectScale: String?

    @Option(help: "Face ellipse size relative to the detected box.")
    var maskScale: Double = 1.3

    @OptionGroup(title: "Diffusion (--method svia)") var diffusion: DiffusionArguments

    @Flag(help: "Anonymize only a video's keyframes and write them as stills into the output folder (selection as `svia keyframes`).")
    var keyframes = false

    @OptionGroup var keyframeSelection: KeyframeArguments

    @Option(help: "Write the mask used for every picture (255 = replaced) under this folder: NAME.png, or NAME/%06d.png per video frame.")
    var exportMasks: String?

    @OptionGroup var encode: EncodeArguments

    @Option(help: "Write a JSON summary (inputs, outputs, frames, timings, what was stripped) to this file.")
    var report: String?

    @Flag(help: "Print (and with --report write) what would be done to each input — stages, models, prompts per pass, steps, seeds, sizes, UNet evaluations — without loading any model or writing any picture.")
    var dryRun = false

    @Flag(help: "Leave outputs that already exist (resume an interrupted folder run).")
    var skipExisting = false

    @Flag(name: .shortAndLong, help: "No progress output.")
    var quiet = false

    @OptionGroup(title: "Scale-out and resume") var scale: ScaleArguments

    func validate() throws {
        try scale.validate(inputs: inputs, keyframes: keyframes, dryRun: dryRun)
        if dilate < 0 || dilate > 512 { throw ValidationError("--dilate must be between 0 and 512") }
        if minRegion < 0 { throw ValidationError("--min-region must not be negative") }
        if feather < 0 || feather > 256 { throw ValidationError("--feather must be between 0 and 256") }
        if pixelBlock < 1 || pixelBlock > 512 { throw ValidationError("--pixel-block must be between 1 and 512") }
        if let s = blurSigma, !(s > 0 && s <= 1000) { throw ValidationError("--blur-sigma must be in (0, 1000]") }
        if let mapping, CategoryMapping.named(mapping) == nil { throw ValidationError("--mapping must be privacy or paper") }
        _ = try selectedCategories()
        if let detect, DetectorChoice(list: detect) == nil { throw ValidationError("--detect takes faces, text, both (faces,text) or none") }
        if keyframes && output == nil && scale.plan == nil { throw ValidationError("--keyframes needs -o DIR for the stills") }
        if method == .svia { _ = try diffusion.settings() }
        if detectReplace == .svia { throw ValidationError("--detect-replace takes blur, pixelate or graymask") }
        if !(faceThreshold > 0 && faceThreshold < 1) { throw ValidationError("--face-threshold must be between 0 and 1") }
        if !(maskScale >= 1 && maskScale <= 4) { throw ValidationError("--mask-scale must be between 1 and 4") }
        _ = try parsedDetectScale()
    }

    func parsedDetectScale() throws -> (width: Int, height: Int)? {
        try detectScale.map { try parseSize($0, option: "--detect-scale", example: "640x360") }
    }

    func selectedCategories() throws -> Set<PrivacyCategory>? {
        guard let categories else { return nil }
        var out = Set<PrivacyCategory>()
        for name in categories.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let c = PrivacyCategory(rawValue: name), PrivacyCategory.segmented.contains(c) else {
                throw ValidationError("unknown category '\(name)'; choose from \(PrivacyCategory.segmented.map(\.rawValue).joined(separator: ", "))")
            }
            out.insert(c)
        }
        if out.isEmpty { throw ValidationError("--categories names no category") }
        return out
    }

    /// How detected regions are replaced by a baseline method: `--detect-replace`, else the method itself.
    var detectedMethod: ReplacementMethod {
        detectReplace ?? (method == .svia ? .blur : method)
    }

    /// The detectors in use: `--detect`, else none for the paper preset and faces + text otherwise.
    var detectList: String {
        detect ?? (method == .svia && diffusion.preset == .paper ? "none" : "faces,text")
    }

    func run() throws {
        if scale.validateOnly { return }
        if let planPath = scale.plan { return try runPlannedShard(planPath) }
        if let exportMasks, let masks, foldersOverlap(exportMasks, masks) {
            Terminal.error("--export-masks \(exportMasks) overlaps --masks \(masks): the exported masks would overwrite the label maps; choose another folder")
            throw ExitCode(2)
        }
        let plan: (items: [JobItem], skipped: [SkippedFile])
        do {
            plan = try JobPlanner.plan(inputs: inputs, output: output, masks: masks, outputIsFolder: keyframes)
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
        if let report {
            // The report must not replace a file of the run: refused before any work.
            let clash = inputs.first { AtomicFile.sameFile($0, report) }
                ?? plan.items.lazy.flatMap { [$0.input, $0.output] }.first { AtomicFile.sameFile($0, report) }
            if let clash {
                Terminal.error("\(report): --report names \(clash), a file of this run; choose another report path")
                throw SviaExit.usage
            }
        }
        let detectors = DetectorChoice(list: detectList)!
        if dryRun { return try runDry(plan.items, skipped: plan.skipped, detectors: detectors) }
        for s in plan.skipped where !quiet { Terminal.note("skipped \(s.path): \(s.reason)") }
        let runner = try makeRunner(detectors: detectors)

        let view = ProgressView(totalFiles: plan.items.count, quiet: quiet)
        let started = Date()
        let reports = runner.run(plan.items) { event in
            switch event {
            case .fileStarted(let i, _, let item): view.startFile(i, name: item.relativePath)
            case .frame(let done, let expected): view.draw(done: done, expected: expected)
            case .fileFinished(let r):
                view.finish()
                switch r.status {
                case .failed: Terminal.error(r.message ?? "\(r.input): failed")
                case .skipped: if !quiet { Terminal.note("kept existing \(r.output)") }
                case .done:
                    if let msg = r.message { Terminal.note("warning: \(r.input): \(msg)") }
                    let written = r.stills.map { "\($0.count) stills in \(URL(fileURLWithPath: r.output).deletingLastPathComponent().path)" } ?? r.output
                    if !quiet { Terminal.note("wrote \(written)" + (r.frames.map { " (\($0) frames, " } ?? " (") + String(format: "%.1f s)", r.seconds)) }
                }
            }
        }
        let failed = reports.filter { $0.status == .failed }.count
        if let report {
            do {
                try writeReport(reports, skipped: plan.skipped, seconds: Date().timeIntervalSince(started), to: report)
            } catch {
                Terminal.error("\(report): cannot write report: \(error)")
                throw ExitCode(1)
            }
        }
        if !quiet {
            Terminal.note("\(reports.count - failed) of \(reports.count) files anonymized" + (failed > 0 ? ", \(failed) failed" : ""))
        }
        if failed > 0 { throw ExitCode(1) }
    }

    /// Loads the models the options need and builds the runner (exits with a message when one is missing).
    func makeRunner(detectors: DetectorChoice) throws -> AnonymizeRunner {
        var painter: SVIAPainter? = nil
        if method == .svia {
            // Every model is checked before any work starts, so a missing one costs nothing.
            let settings = try diffusion.settings()
            var folders: [String: URL]
            let needsSegmenter = masks == nil
                && SegmenterRegions.locate(segmenterArguments.segmenter, preference: settings.segmenterRepositories) == nil
            do {
                folders = try SVIAModels.locate(settings, segmenters: needsSegmenter && segmenterArguments.segmenter == nil
                                                    ? settings.segmenterRepositories : [])
            } catch {
                Terminal.error("\(error)")
                throw ExitCode(2)
            }
            if needsSegmenter {
                _ = try segmenterArguments.load(required: true, quiet: quiet, preference: settings.segmenterRepositories)
            }
            if !quiet {
                Terminal.note("preset \(settings.preset.rawValue): loading \(settings.repositories.joined(separator: ", "))")
                for repo in settings.repositories {
                    guard let m = SVIASettings.catalog.entry(servedBy: repo), !m.commercialUse else { continue }
                    Terminal.note("note: \(repo) is licensed for non-commercial use only (\(m.licence.name))")
                }
            }
            do {
                painter = SVIAPainter(settings: settings, models: try SVIAModels.load(settings, folders: folders))
            } catch {
                Terminal.error("\(error)")
                throw ExitCode(1)
            }
            folders.removeAll()
        }
        var segmenter: SegmenterRegions? = nil
        if masks == nil {
            segmenter = try segmenterArguments.load(required: false, quiet: quiet,
                                                    preference: method == .svia ? try diffusion.settings().segmenterRepositories : nil)
            if segmenter == nil && detectors.isEmpty {
                Terminal.error("no regions to anonymize: give label maps with --masks DIR, a segmenter with --segmenter, or enable the detectors (--detect faces,text)")
                throw ExitCode(2)
            }
            if segmenter == nil && !quiet {
                Terminal.note("no segmenter weights found (\(SegmenterArguments.searchedDescription)): replacing only what the shipped detectors find (\(detectList)); give --masks DIR or --segmenter PATH for the other categories")
            }
        }
        var options = AnonymizeOptions()
        options.method = method
        options.labelFormat = labelFormat
        options.mapping = try categoryMapping()
        options.dilation = dilate
        options.minRegion = minRegion
        options.feather = feather
        options.blurSigma = blurSigma
        options.pixelBlock = pixelBlock
        options.encode = encode.options
        options.skipExisting = skipExisting
        options.keyframes = keyframes ? keyframeSelection.selection : nil
        options.exportMasks = exportMasks
        if scale.resume || scale.start != nil || scale.end != nil {
            options.resume = ResumeSettings(start: try scale.startSeconds(), end: try scale.endSeconds(),
                                            segmentSeconds: scale.resume ? (scale.segmentSeconds ?? 60) : nil,
                                            warmupFrames: scale.warmupFrames ?? 0,
                                            arguments: checkpointArguments(Array(CommandLine.arguments.dropFirst())))
            options.skipExisting = options.skipExisting || scale.resume
        }
        var settings = DetectorSettings()
        settings.detectors = detectors
        settings.face.threshold = faceThreshold
        settings.face.maskScale = maskScale
        let scale = try parsedDetectScale()
        settings.face.scale = scale
        settings.text.scale = scale
        options.detectors = settings
        switch detectedMethod {
        case .blur: options.detectedReplacement = .blur(sigma: blurSigma)
        case .pixelate: options.detectedReplacement = .pixelate(block: pixelBlock)
        case .graymask, .svia: options.detectedReplacement = .paperGraymask
        }
        do {
            return try AnonymizeRunner(options: options, segmenter: segmenter, painter: painter)
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
    }

    /// `--mapping`, else paper's list for the paper preset and the privacy list otherwise; cut to `--categories`.
    func categoryMapping() throws -> CategoryMapping {
        var m = CategoryMapping.named(mapping ?? (method == .svia && diffusion.preset == .paper ? "paper" : "privacy"))!
        if let cats = try selectedCategories() { m = m.restricted(to: cats) }
        return m
    }

    /// `--dry-run`: the plan of every input, from the settings and the inputs' sizes; models are only looked up.
    func runDry(_ items: [JobItem], skipped: [SkippedFile], detectors: DetectorChoice) throws {
        struct Segmentation: Codable {
            var source: String
            var model: String?
            var path: String?
        }
        struct FilePlan: Codable {
            var input: String
            var output: String
            var kind: JobItem.Kind
            var method: String
            var regions: Segmentation
            var detectors: [String]
            var categories: [String: [String]]
            var svia: SVIAPlan?
        }
        struct Summary: Codable {
            var version: String
            var dryRun = true
            var method: String
            var preset: String?
            var files: [FilePlan]
            var skipped: [SkippedFile]
        }
        let settings = method == .svia ? try diffusion.settings() : nil
        let models = settings.map { SVIAModels.paths($0.repositories) } ?? [:]
        let mapping = try categoryMapping()
        var detected: [PrivacyCategory] = []
        if detectors.contains(.faces) { detected.append(.face) }
        if detectors.contains(.text) { detected.append(.text) }
        let regions: Segmentation
        if let masks {
            regions = Segmentation(source: "label maps in \(masks)")
        } else if let path = SegmenterRegions.locate(segmenterArguments.segmenter, preference: settings?.segmenterRepositories) {
            let order = settings?.segmenterRepositories ?? SegmenterRegions.defaultRepositories
            regions = Segmentation(source: "segmenter", model: segmenterArguments.segmenter ?? order.first { path.contains($0.replacingOccurrences(of: "/", with: "--")) }, path: path)
        } else {
            regions = Segmentation(source: "segmenter (not found: \(SegmenterArguments.searchedDescription))",
                                   model: segmenterArguments.segmenter ?? (settings?.segmenterRepositories ?? SegmenterRegions.defaultRepositories).first)
        }
        var categories: [String: [String]] = [:]
        for entry in mapping.classes {
            categories[entry.category.rawValue] = entry.trainIds.map { Cityscapes.labelForTrainId[Int($0)].name }
        }
        var files: [FilePlan] = []
        for item in items {
            var size: (width: Int, height: Int)? = nil
            switch item.kind {
            case .image:
                if let image = try? StillImage.read(path: item.input) { size = (image.width, image.height) }
            case .video:
                if let stream = (try? MediaProbe.probe(path: item.input))?.streams.first(where: { $0.kind == .video }),
                   let w = stream.width, let h = stream.height { size = (w, h) }
            }
            let plan = settings.map {
                SVIAPlan(settings: $0, mapping: mapping, detected: detected, source: size,
                         video: item.kind == .video && keyframeSelectionIsOff, models: models)
            }
            let file = FilePlan(input: item.input, output: item.output, kind: item.kind, method: method.rawValue,
                                regions: regions, detectors: detected.map(\.rawValue), categories: categories, svia: plan)
            files.append(file)
            print("\(item.input) (\(item.kind.rawValue)\(size.map { ", \($0.width)x\($0.height)" } ?? "")) -> \(item.output)")
            print("  regions: \(regions.source)\(regions.path.map { " (\($0))" } ?? ""); detectors: \(detected.isEmpty ? "none" : detected.map(\.rawValue).joined(separator: ", "))")
            if let plan { for line in plan.lines { print(line) } } else { print("  method \(method.rawValue)") }
        }
        for s in skipped where !quiet { Terminal.note("skipped \(s.path): \(s.reason)") }
        if let report {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            do {
                try AtomicFile.write(encoder.encode(Summary(version: Svia.configuration.version, method: method.rawValue,
                                                            preset: settings?.preset.rawValue, files: files, skipped: skipped)),
                                     to: report)
            } catch {
                Terminal.error("\(report): cannot write report: \(error)")
                throw ExitCode(1)
            }
        }
    }

    /// Keyframe mode paints each selected frame as a still.
    var keyframeSelectionIsOff: Bool { !keyframes }

    func writeReport(_ reports: [FileReport], skipped: [SkippedFile], seconds: Double, to path: String) throws {
        struct Summary: Codable {
            var version: String
            var method: String
            var preset: String?
            var files: [FileReport]
            var skipped: [SkippedFile]
            var seconds: Double
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(Summary(version: Svia.configuration.version, method: method.rawValue,
                                              preset: method == .svia ? diffusion.preset.rawValue : nil, files: reports, skipped: skipped, seconds: seconds))
        try AtomicFile.write(data, to: path)
    }
}

/// `WxH` from the command line, 32 to 8192 per side.
func parseSize(_ text: String, option: String, example: String) throws -> (width: Int, height: Int) {
    let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
    guard parts.count == 2, (32...8192).contains(parts[0]), (32...8192).contains(parts[1]) else {
        throw ValidationError("\(option) must look like \(example) (32 to 8192 per side)")
    }
    return (parts[0], parts[1])
}

/// True when one folder is the other or lies inside it (symbolic links resolved).
func foldersOverlap(_ a: String, _ b: String) -> Bool {
    func resolved(_ p: String) -> String {
        URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path
    }
    let x = resolved(a), y = resolved(b)
    return x == y || x.hasPrefix(y.hasSuffix("/") ? y : y + "/") || y.hasPrefix(x.hasSuffix("/") ? x : x + "/")
}
