import Anonymizer
import ArgumentParser
import Foundation
import MediaIO
import Networks

/// Which segmenter to use and at what size.
struct SegmenterArguments: ParsableArguments {
    @Option(help: "SegFormer checkpoint: a folder with config.json + model.safetensors, or a hub id found in the Hugging Face cache (default: the first nvidia/segformer-b*-finetuned-cityscapes-1024-1024 there).")
    var segmenter: String?

    @Option(help: "Segment at WxH (default: the longer side brought down to 1024, aspect kept).")
    var segmentSize: String?

    static var searchedDescription: String {
        "looked in \(HuggingFaceCacheDescription.hub) for nvidia/segformer-b0...b5-finetuned-cityscapes-1024-1024"
    }

    func validate() throws { _ = try parsedWorkSize() }

    /// The commands that download the first catalog segmenter of `preference` svia can download.
    static func howToGet(_ preference: [String]?) -> String {
        let catalog = SVIASettings.catalog
        let repos = preference ?? SegmenterRegions.defaultRepositories
        guard let m = repos.compactMap(catalog.entry(servedBy:)).first(where: { !$0.fetchableSources.isEmpty }) else {
            return "no catalog segmenter can be downloaded"
        }
        let src = m.fetchableSources[0]
        let rev = src.revision == "main" ? "" : " --revision \(src.revision)"
        return "download one with `svia models fetch \(m.id)` (\(m.licence.name): "
            + (m.commercialUse ? "" : "not for commercial use; ") + "or `huggingface-cli download \(src.repository)\(rev) "
            + m.files.joined(separator: " ") + "`)"
    }

    func parsedWorkSize() throws -> (width: Int, height: Int)? {
        try segmentSize.map { try parseSize($0, option: "--segment-size", example: "1024x512") }
    }

    /// The segmenter, or nil when none is named and none is in the cache (an error when `required`).
    func load(required: Bool, quiet: Bool, preference: [String]? = nil) throws -> SegmenterRegions? {
        guard let path = SegmenterRegions.locate(segmenter, preference: preference) else {
            if segmenter != nil || required {
                Terminal.error("segmenter \(segmenter.map { "'\($0)' " } ?? "")not found (\(Self.searchedDescription)); \(Self.howToGet(preference)), pass a folder with config.json and model.safetensors, or give label maps with --masks DIR")
                throw ExitCode(2)
            }
            return nil
        }
        do {
            let s = try SegmenterRegions(directory: path, workSize: try parsedWorkSize())
            if !quiet { Terminal.note("segmenting with \(path)") }
            return s
        } catch let error as SegFormerError {
            switch error {
            case .missingTensor, .unusedTensor, .shapeMismatch:
                // These name a tensor but not a file: the checkpoint's config.json and weights disagree.
                Terminal.error("\(path): config.json and the weights (model.safetensors) do not match: \(error)")
            default:
                Terminal.error("\(error)")
            }
            throw ExitCode(1)
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
    }
}

enum HuggingFaceCacheDescription {
    static var hub: String { SegmenterRegions.hubDirectoryPath }
}

struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Write Cityscapes class maps, per-category masks and a colour overlay for review.",
        discussion: """
            For a still NAME.EXT: NAME.png (trainIds class map), NAME_overlay.jpg, and NAME_CATEGORY.png \
            masks. For a video NAME.EXT: NAME/%06d.png class maps (0-based frames) and NAME_overlay.mp4. \
            The class maps are accepted back by `svia anonymize --masks OUTPUT`, so they can be reviewed \
            and corrected first.
            """)

    @Argument(help: "Videos, images or folders.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Output folder.")
    var output: String

    @OptionGroup var segmenterArguments: SegmenterArguments

    @Option(help: "Categories written as masks (comma-separated; default all).")
    var categories: String?

    @Flag(name: .shortAndLong, help: "No progress output.")
    var quiet = false

    func run() throws {
        let plan: (items: [JobItem], skipped: [SkippedFile])
        do {
            plan = try JobPlanner.plan(inputs: inputs, output: output, masks: nil, outputIsFolder: true)
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
        for s in plan.skipped where !quiet { Terminal.note("skipped \(s.path): \(s.reason)") }
        guard let segmenter = try segmenterArguments.load(required: true, quiet: quiet) else { throw ExitCode(2) }
        var failed = 0
        for (i, item) in plan.items.enumerated() {
            if !quiet { Terminal.status("[\(i + 1)/\(plan.items.count)] \(item.relativePath)") }
            do {
                try SegmentWriter(segmenter: segmenter).write(item)
                if !quiet { Terminal.clearStatus(); Terminal.note("segmented \(item.input)") }
            } catch {
                Terminal.clearStatus()
                Terminal.error("\(error)")
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
