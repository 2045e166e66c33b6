import Foundation
import MediaIO

/// How regions are replaced.
public enum ReplacementMethod: String, CaseIterable, Codable, Sendable {
    /// Segment, inpaint with latent diffusion, harmonize (the SVIA paper).
    case svia
    case blur, pixelate, graymask
}

public struct AnonymizeOptions: Sendable {
    public var method: ReplacementMethod = .svia
    public var labelFormat: LabelFormat = .trainIds
    public var mapping: CategoryMapping = .privacy
    /// Pixels added around every region so its edges do not leak.
    public var dilation: Int = 0
    /// Regions of the label maps or the segmenter smaller than this many pixels are dropped (0: none).
    public var minRegion: Int = 0
    /// Width in pixels of the soft edge outside every region (0: hard edges).
    public var feather: Int = 0
    public var blurSigma: Double? = nil
    public var pixelBlock: Int = 8
    public var encode = EncodeOptions()
    /// JPEG output quality as FFmpeg's qscale (2 = best usual).
    public var jpegQuality: Int = 2
    /// Leave outputs that already exist untouched (resume an interrupted folder run).
    public var skipExisting = false
    /// The shipped face and text detectors; nil runs none.
    public var detectors: DetectorSettings? = DetectorSettings()
    /// How detected faces and text are replaced (baseline methods; `--method svia` paints them with the rest).
    public var detectedReplacement: BaselineMethod = .blur(sigma: nil)
    /// Anonymize only these frames of each video, written as stills into the output folder.
    public var keyframes: KeyframeSelection? = nil
    /// Write the mask of every picture (255 = replaced) under this folder.
    public var exportMasks: String? = nil
    /// Videos run in checkpointed segments and/or only a time range of them (`--resume`, `--start`, `--end`).
    public var resume: ResumeSettings? = nil

    public init() {}

    var baseline: BaselineMethod? {
        switch method {
        case .svia: return nil
        case .blur: return .blur(sigma: blurSigma)
        case .pixelate: return .pixelate(block: pixelBlock)
        case .graymask: return .paperGraymask
        }
    }
}

/// How a video is run in segments on one machine.
public struct ResumeSettings: Sendable {
    /// Seconds from the video's first frame: first frame processed, first frame not processed.
    public var start: Double?
    public var end: Double?
    /// Checkpoint length: the video is cut at codec keyframes into segments of at most about this many
    /// seconds, each kept until the output is complete (nil: one segment).
    public var segmentSeconds: Double?
    /// Frames before each segment run through the temporal state without being written.
    public var warmupFrames: Int
    /// The command line, so that segments left by a run with other options are not reused.
    public var arguments: [String]

    public init(start: Double?, end: Double?, segmentSeconds: Double?, warmupFrames: Int, arguments: [String]) {
        self.start = start
        self.end = end
        self.segmentSeconds = segmentSeconds
        self.warmupFrames = warmupFrames
        self.arguments = arguments
    }
}

/// What happened to one file, for the user and for `--report`.
public struct FileReport: Sendable, Codable {
    public enum Status: String, Sendable, Codable { case done, skipped, failed }
    public var input: String
    public var output: String
    public var kind: JobItem.Kind
    public var status: Status
    public var message: String?
    public var frames: Int?
    public var expectedFrames: Int?
    public var truncated: Bool?
    public var seconds: Double
    /// Share of pixels replaced per category, averaged over frames.
    public var categoryCoverage: [String: Double] = [:]
    public var droppedStreams: [String] = []
    public var strippedTags: [String] = []
    public var audio: String?
    /// Keyframe mode: the stills written.
    public var stills: [String]?
    /// `--method svia`: preset, seeds, UNet evaluations, keyframes, seconds per stage.
    public var svia: SVIAStats?
}

/// Progress the runner reports; the caller decides how to show it.
public enum ProgressEvent: Sendable {
    case fileStarted(index: Int, of: Int, item: JobItem)
    case frame(done: Int, expected: Int?)
    case fileFinished(FileReport)
}

/// Runs planned jobs one after another; a failing file does not stop the others.
public struct AnonymizeRunner: Sendable {
    public let options: AnonymizeOptions
    let detectorRegions: DetectorRegions?
    /// Segments pictures that have no label maps.
    let segmenter: SegmenterRegions?
    /// Paints the regions for `--method svia`.
    let painter: SVIAPainter?

    /// Loads the detectors the options ask for (throws when their models are missing).
    public init(options: AnonymizeOptions, segmenter: SegmenterRegions? = nil, painter: SVIAPainter? = nil) throws {
        self.options = options
        self.segmenter = segmenter
        self.painter = painter
        if options.method == .svia && painter == nil { throw RunError.methodUnavailable(.svia) }
        detectorRegions = try options.detectors.flatMap { $0.detectors.isEmpty ? nil : try DetectorRegions(settings: $0) }
    }

    public func run(_ items: [JobItem], progress: (ProgressEvent) -> Void = { _ in }) -> [FileReport] {
        var reports: [FileReport] = []
        let shared = Self.sharedKeyframeStems(items)
        for (i, item) in items.enumerated() {
            progress(.fileStarted(index: i, of: items.count, item: item))
            let report: FileReport
            if let r = options.resume, item.kind == .video, options.keyframes == nil {
                report = runResumable(item, start: r.start, end: r.end, segmentSeconds: r.segmentSeconds,
                                      warmupFrames: r.warmupFrames, arguments: r.arguments, progress: progress)
            } else {
                report = runOne(item, extensionInStillNames: shared.contains(Self.keyframeStem(item)), progress: progress)
            }
            progress(.fileFinished(report))
            reports.append(report)
        }
        return reports
    }

    /// Output folder and name stem of a video's keyframe stills (`STEM_<time>.png`).
    static func keyframeStem(_ item: JobItem) -> String {
        (item.output as NSString).deletingPathExtension
    }

    /// Keyframe stems that two videos share (`a.mp4` and `a.mov` in one folder): their stills carry the
    /// input's extension in the name (`a_mp4_<time>.png`) so that neither overwrites the other's.
    static func sharedKeyframeStems(_ items: [JobItem]) -> Set<String> {
        let counts = Dictionary(items.filter { $0.kind == .video }.map { (keyframeStem($0), 1) }, uniquingKeysWith: +)
        return Set(counts.filter { $0.value > 1 }.keys)
    }

    func runOne(_ item: JobItem, extensionInStillNames: Bool = false, progress: (ProgressEvent) -> Void) -> FileReport {
        let start = Date()
        var report = FileReport(input: item.input, output: item.output, kind: item.kind, status: .done, seconds: 0)
        if options.skipExisting && (item.kind == .image || options.keyframes == nil)
            && FileManager.default.fileExists(atPath: item.output) {
            report.status = .skipped
            report.message = "output exists"
            return report
        }
        do {
            try FileManager.default.createDirectory(
                at: URL(fileURLWithPath: item.output).deletingLastPathComponent(), withIntermediateDirectories: true)
            var work = newWork()
            switch item.kind {
            case .image:
                let image = try StillImage.read(path: item.input)
                let out = try anonymize(image, labelMap: { try labelMap(item, frame: nil, image: $0) }, work: &work)
                try StillImage.write(out, to: item.output, jpegQuality: options.jpegQuality)
                try exportMask(work.lastMask, item: item, frame: nil)
                report.frames = 1
            case .video where options.keyframes != nil:
                // Keyframe mode: the selected frames become stills in the output folder, each painted alone.
                let folder = URL(fileURLWithPath: item.output).deletingLastPathComponent()
                var stem = URL(fileURLWithPath: item.output).deletingPathExtension().lastPathComponent
                if extensionInStillNames { stem += "_" + (item.input as NSString).pathExtension.lowercased() }
                var stills: [String] = []
                var existing = 0
                try Keyframes.extract(path: item.input, selection: options.keyframes!) { frame in
                    let dest = folder.appendingPathComponent("\(stem)_\(Keyframes.timestampName(frame.seconds)).png").path
                    if options.skipExisting && FileManager.default.fileExists(atPath: dest) {
                        existing += 1
                        return
                    }
                    let out = try anonymize(frame.image, labelMap: { try labelMap(item, frame: frame.index, image: $0) },
                                            work: &work)
                    try StillImage.write(out, to: dest)
                    try exportMask(work.lastMask, item: item, frame: frame.index)
                    stills.append(dest)
                    progress(.frame(done: stills.count, expected: nil))
                }
                report.frames = stills.count
                report.stills = stills
                if existing > 0 && stills.isEmpty {
                    report.status = .skipped
                    report.message = "stills exist"
                } else if existing > 0 {
                    report.message = "\(existing) stills existed and were left untouched"
                }
            case .video:
                work.clip = painter.map { SVIAClip(settings: $0.settings) }
                let videoStart = Date()
                var inFrames: TimeInterval = 0
                let t = try withoutActuallyEscaping(progress) { progress in
                    try VideoTranscoder.run(
                        input: item.input, output: item.output, options: options.encode,
                        progress: { done, expected in progress(.frame(done: done, expected: expected)) }
                    ) { frame in
                        let frameStart = Date()
                        defer { inFrames += Date().timeIntervalSince(frameStart) }
                        let out = try anonymize(frame.image, labelMap: { try labelMap(item, frame: frame.index, image: $0) },
                                                work: &work)
                        try exportMask(work.lastMask, item: item, frame: frame.index)
                        return out
                    }
                }
                // Everything of the run outside the per-frame work: demuxing, decoding, colour conversion, encoding
                // and muxing.
                work.stats?.stageSeconds["decode+encode", default: 0] += Date().timeIntervalSince(videoStart) - inFrames
                report.frames = t.frames
                report.expectedFrames = t.expectedFrames
                report.truncated = t.truncated
                report.droppedStreams = t.droppedStreams
                report.strippedTags = t.strippedTags
                report.audio = t.audio
                if t.truncated {
                    report.message = "truncated recording: \(t.frames) of \(t.expectedFrames.map(String.init) ?? "?") frames decoded"
                }
            }
            report.svia = work.stats
            report.categoryCoverage = work.coverage.averages
        } catch {
            report.status = .failed
            report.message = "\(error)"
        }
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    func newWork() -> PictureWork {
        PictureWork(stats: painter.map { p in
            var s = SVIAStats()
            s.preset = p.settings.preset.rawValue
            s.seeds = ["inpaint": p.settings.seed, "harmonize": p.settings.harmonizerSeed]
            return s
        })
    }

    /// One picture: label-map regions through the chosen method, then detected faces and text through
    /// their own replacement (`--method svia` paints all regions together).
    func anonymize(_ image: RGBImage, labelMap: (RGBImage) throws -> (GrayImage, LabelFormat)?,
                   work: inout PictureWork) throws -> RGBImage {
        var out = image
        var found: CategoryRegions = []
        var segmented: CategoryRegions = []
        var classes: [ClassRegion] = []
        let labels = try time("segment", &work) { try labelMap(image) }
        if let (map, format) = labels {
            let masks = CategoryMasks(labelMap: map, format: format, mapping: options.mapping,
                                      width: image.width, height: image.height, dilation: options.dilation,
                                      minArea: options.minRegion, perClass: painter != nil)
            segmented = masks.masks
            classes = masks.classes
        }
        // Detection reads the original picture: an earlier replacement must not hide a face or a plate.
        let detected = try time("detect", &work) { try detectorRegions?.regions(in: image) } ?? []
        if let painter {
            found = segmented + detected
            var stats = work.stats ?? SVIAStats()
            let (painted, mask) = try painter.paint(image, regions: found, classes: classes, feather: options.feather,
                                                    clip: &work.clip, stats: &stats)
            work.stats = stats
            work.lastMask = mask
            work.coverage.add(found)
            return painted
        }
        guard let method = options.baseline else { throw RunError.methodUnavailable(options.method) }
        found += segmented
        var union = CategoryMasks(masks: segmented).union
        if let u = union { out = method.apply(to: out, inside: u, feather: options.feather) }
        found += detected
        if var detectedUnion = detected.first?.mask {
            for d in detected.dropFirst() { detectedUnion = detectedUnion.union(d.mask) }
            var replacement = options.detectedReplacement
            if case .blur(nil) = replacement {
                // A face or a line of text needs a blur on its own scale, not the picture's: a face that
                // fills a small frame stays recognisable under 1.5 % of the frame's width.
                let picture = 0.015 * Double(max(image.width, image.height))
                replacement = .blur(sigma: max(picture, Double(detectedUnion.area).squareRoot() / 5))
            }
            out = replacement.apply(to: out, inside: detectedUnion, feather: options.feather)
            union = union.map { $0.union(detectedUnion) } ?? detectedUnion
        }
        work.lastMask = union ?? Mask(width: image.width, height: image.height)
        work.coverage.add(found)
        return out
    }

    func time<T>(_ stage: String, _ work: inout PictureWork, _ body: () throws -> T) rethrows -> T {
        guard work.stats != nil else { return try body() }
        return try work.stats!.time(stage, body)
    }

    /// Writes the mask used for a picture under `options.exportMasks`: NAME.png for a still, NAME/%06d.png
    /// for the frames of a video (255 = replaced).
    func exportMask(_ mask: Mask?, item: JobItem, frame: Int?) throws {
        guard let root = options.exportMasks, let mask else { return }
        let rel = (item.relativePath as NSString).deletingPathExtension
        var url = URL(fileURLWithPath: root).appendingPathComponent(rel)
        if let frame { url = url.appendingPathComponent(String(format: "%06d.png", frame)) } else { url.appendPathExtension("png") }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try StillImage.writeGray(mask.grayImage, to: url.path)
    }

    /// The picture's label map: from the user's files, else from the segmenter, else none.
    func labelMap(_ item: JobItem, frame: Int?, image: RGBImage) throws -> (GrayImage, LabelFormat)? {
        if item.labelMaps == nil, let segmenter { return (try segmenter.trainIdMap(for: image), .trainIds) }
        return try loadLabelMap(item, frame: frame).map { ($0, options.labelFormat) }
    }

    func loadLabelMap(_ item: JobItem, frame: Int?) throws -> GrayImage? {
        guard let base = item.labelMaps else {
            if detectorRegions == nil { throw RunError.noRegions(item.input) }
            return nil
        }
        let path = frame.map { URL(fileURLWithPath: base).appendingPathComponent(String(format: "%06d.png", $0)).path } ?? base
        guard FileManager.default.fileExists(atPath: path) else {
            throw RunError.missingLabelMap(input: item.input, labelMap: path)
        }
        return try StillImage.readLabelMap(path: path)
    }
}

public enum RunError: Error, CustomStringConvertible {
    case methodUnavailable(ReplacementMethod)
    case noRegions(String)
    case missingLabelMap(input: String, labelMap: String)

    public var description: String {
        switch self {
        case .methodUnavailable(let m):
            return "--method \(m.rawValue) needs its models loaded (SVIAPainter)"
        case .noRegions(let input):
            return "\(input): no regions to anonymize: give label maps with --masks DIR or enable the detectors (--detect faces,text)"
        case .missingLabelMap(let input, let map):
            return "\(input): label map \(map) is missing"
        }
    }
}

/// What the runner keeps while it works through the pictures of one file.
struct PictureWork {
    var coverage = CoverageTally()
    var stats: SVIAStats?
    var clip: SVIAClip? = nil
    var lastMask: Mask? = nil
}

/// Running sums of each category's share of the picture.
struct CoverageTally {
    var sums: [String: Double] = [:]
    var pictures = 0

    mutating func add(_ regions: CategoryRegions) {
        pictures += 1
        for m in regions { sums[m.category.rawValue, default: 0] += m.mask.coverage }
    }

    var averages: [String: Double] { sums.mapValues { $0 / Double(max(1, pictures)) } }
}
