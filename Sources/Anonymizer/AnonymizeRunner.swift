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
    /// How detected faces and text are replaced.
    public var detectedReplacement: BaselineMethod = .blur(sigma: nil)

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

    /// Loads the detectors the options ask for (throws when their models are missing).
    public init(options: AnonymizeOptions, segmenter: SegmenterRegions? = nil) throws {
        self.options = options
        self.segmenter = segmenter
        detectorRegions = try options.detectors.flatMap { $0.detectors.isEmpty ? nil : try DetectorRegions(settings: $0) }
    }

    public func run(_ items: [JobItem], progress: (ProgressEvent) -> Void = { _ in }) -> [FileReport] {
        var reports: [FileReport] = []
        for (i, item) in items.enumerated() {
            progress(.fileStarted(index: i, of: items.count, item: item))
            let report = runOne(item, progress: progress)
            progress(.fileFinished(report))
            reports.append(report)
        }
        return reports
    }

    func runOne(_ item: JobItem, progress: (ProgressEvent) -> Void) -> FileReport {
        let start = Date()
        var report = FileReport(input: item.input, output: item.output, kind: item.kind, status: .done, seconds: 0)
        if options.skipExisting && FileManager.default.fileExists(atPath: item.output) {
            report.status = .skipped
            report.message = "output exists"
            return report
        }
        do {
            try FileManager.default.createDirectory(
                at: URL(fileURLWithPath: item.output).deletingLastPathComponent(), withIntermediateDirectories: true)
            var coverage = CoverageTally()
            switch item.kind {
            case .image:
                let image = try StillImage.read(path: item.input)
                let out = try anonymize(image, labelMap: { try labelMap(item, frame: nil, image: $0) }, coverage: &coverage)
                try StillImage.write(out, to: item.output, jpegQuality: options.jpegQuality)
                report.frames = 1
            case .video:
                let t = try withoutActuallyEscaping(progress) { progress in
                    try VideoTranscoder.run(
                        input: item.input, output: item.output, options: options.encode,
                        progress: { done, expected in progress(.frame(done: done, expected: expected)) }
                    ) { frame in
                        try anonymize(frame.image, labelMap: { try labelMap(item, frame: frame.index, image: $0) },
                                      coverage: &coverage)
                    }
                }
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
            report.categoryCoverage = coverage.averages
        } catch {
            report.status = .failed
            report.message = "\(error)"
        }
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// One picture: label-map regions through the chosen method, then detected faces and text through
    /// their own replacement.
    func anonymize(_ image: RGBImage, labelMap: (RGBImage) throws -> (GrayImage, LabelFormat)?,
                   coverage: inout CoverageTally) throws -> RGBImage {
        guard let method = options.baseline else { throw RunError.methodUnavailable(options.method) }
        var out = image
        var found: CategoryRegions = []
        if let (map, format) = try labelMap(image) {
            let masks = CategoryMasks(labelMap: map, format: format, mapping: options.mapping,
                                      width: image.width, height: image.height, dilation: options.dilation,
                                      minArea: options.minRegion)
            found += masks.masks
            if let union = masks.union { out = method.apply(to: out, inside: union, feather: options.feather) }
        }
        if let detectorRegions {
            // Detection reads the original picture: an earlier replacement must not hide a face or a plate.
            let detected = try detectorRegions.regions(in: image)
            found += detected
            if var union = detected.first?.mask {
                for d in detected.dropFirst() { union = union.union(d.mask) }
                var replacement = options.detectedReplacement
                if case .blur(nil) = replacement {
                    // A face or a line of text needs a blur on its own scale, not the picture's: a face that
                    // fills a small frame stays recognisable under 1.5 % of the frame's width.
                    let picture = 0.015 * Double(max(image.width, image.height))
                    replacement = .blur(sigma: max(picture, Double(union.area).squareRoot() / 5))
                }
                out = replacement.apply(to: out, inside: union, feather: options.feather)
            }
        }
        coverage.add(found)
        return out
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
        return try StillImage.readGray(path: path)
    }
}

public enum RunError: Error, CustomStringConvertible {
    case methodUnavailable(ReplacementMethod)
    case noRegions(String)
    case missingLabelMap(input: String, labelMap: String)

    public var description: String {
        switch self {
        case .methodUnavailable(let m):
            return "--method \(m.rawValue) is not available yet in this version of svia: it needs the segmentation and diffusion models; use --method blur, pixelate or graymask with --masks"
        case .noRegions(let input):
            return "\(input): no regions to anonymize: give label maps with --masks DIR or enable the detectors (--detect faces,text)"
        case .missingLabelMap(let input, let map):
            return "\(input): label map \(map) is missing"
        }
    }
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
