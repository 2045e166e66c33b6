import Foundation
import MediaIO
import Networks

/// Cityscapes train-id maps from a SegFormer checkpoint.
public struct SegmenterRegions: Sendable {
    /// Checkpoints looked for in the Hugging Face cache when none is named: the catalog's segmenters, in its order.
    public static var defaultRepositories: [String] {
        SVIASettings.catalog.models.filter { $0.role == .segmenter }.map(\.repository)
    }

    public let model: SegFormer
    public let path: String
    /// Resize frames to this before segmenting (nil: the frame's own size).
    public var workSize: (width: Int, height: Int)?
    /// Model class index → Cityscapes trainId, matched by label name (255 for classes Cityscapes lacks).
    let trainIdForClass: [UInt8]

    public init(directory: String, workSize: (width: Int, height: Int)?) throws {
        model = try SegFormer(directory: directory)
        path = directory
        self.workSize = workSize
        let byName = Dictionary(uniqueKeysWithValues: Cityscapes.labelForTrainId.map { ($0.name, $0.trainId) })
        let labels = model.labels
        trainIdForClass = (0..<256).map { i in labels[i].flatMap { byName[$0.lowercased()] } ?? 255 }
        if !trainIdForClass.contains(where: { $0 != 255 }) {
            throw PlanError("\(directory): the segmenter's labels (id2label) name no Cityscapes class")
        }
    }

    /// Where a segmenter named on the command line lives: a folder, or a hub id found in the Hugging Face cache
    /// (the catalog's sources for it, e.g. its safetensors `refs/pr/N` snapshot, else the snapshot `refs/main` points
    /// at); with no name, the first of `preference` (default `defaultRepositories`) found. nil when none is found.
    public static func locate(_ spec: String?, preference: [String]? = nil,
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let spec {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: spec, isDirectory: &isDir), isDir.boolValue { return spec }
            return cached(spec, environment: environment)?.path
        }
        for repo in preference ?? defaultRepositories {
            if let url = cached(repo, environment: environment) { return url.path }
        }
        return nil
    }

    /// The snapshot of a hub repository in the cache: through the catalog entry that names it when there is one.
    static func cached(_ repository: String, environment: [String: String]) -> URL? {
        guard ModelCatalog.isValidRepositoryID(repository) else { return nil }
        let catalog = (try? ModelCatalog.active(environment: environment)) ?? .builtIn
        let store = ModelStore(catalog: catalog, environment: environment)
        if let entry = catalog.entry(servedBy: repository) {
            for source in entry.sources where source.repository == repository {
                var only = entry
                only.sources = [source]
                if let url = store.path(only) { return url }
            }
        }
        return try? HuggingFaceCache.snapshot(repository: repository, hub: store.hub)
    }

    /// The working size for a picture: `workSize` when set, else the picture with its longer side brought
    /// down to 1024 (aspect kept, at least 32 per side), which is what the Cityscapes checkpoints were trained at.
    public func workingSize(width: Int, height: Int) -> (width: Int, height: Int) {
        if let workSize { return workSize }
        let scale = min(1, 1024 / Double(max(width, height)))
        return (max(32, Int((Double(width) * scale).rounded())), max(32, Int((Double(height) * scale).rounded())))
    }

    /// The Hugging Face hub cache folder searched for checkpoints.
    public static var hubDirectoryPath: String { HuggingFaceCache.hubDirectory().path }

    /// One trainId per pixel of `image`.
    public func trainIdMap(for image: RGBImage) throws -> GrayImage {
        let classes = try model.classMap(rgb: image.pixels, width: image.width, height: image.height,
                                         workSize: workingSize(width: image.width, height: image.height))
        return GrayImage(width: image.width, height: image.height, pixels: classes.map { trainIdForClass[Int($0)] })
    }
}

extension Cityscapes {
    /// A picture of a train-id map in the Cityscapes palette, blended over `image` for review.
    public static func overlay(_ trainIds: GrayImage, on image: RGBImage, opacity: Double = 0.55) -> RGBImage {
        var out = image
        let a = max(0, min(1, opacity))
        for i in 0..<trainIds.pixels.count {
            let id = Int(trainIds.pixels[i])
            guard id < labelForTrainId.count else { continue }
            let c = labelForTrainId[id].color
            for (k, v) in [c.0, c.1, c.2].enumerated() {
                let o = Double(image.pixels[3 * i + k]) * (1 - a) + Double(v) * a
                out.pixels[3 * i + k] = UInt8(max(0, min(255, o.rounded())))
            }
        }
        return out
    }
}
