// Finding the files of a diffusers-format pipeline folder (model_index.json + one sub-folder per component)
// and of a Hugging Face hub cache snapshot, following diffusers 0.42.1 / huggingface_hub naming.
// Only safetensors are ever returned: pickled checkpoints (.bin, .ckpt, .pt, .pth) can run code when loaded.
import Foundation

public enum DiffusersFolderError: Error, Equatable, CustomStringConvertible {
    case notAFolder(String)
    case missingModelIndex(String)
    case missingComponent(component: String, path: String)
    case missingConfig(String)
    case missingWeights(component: String, folder: String, tried: [String])
    case pickleOnly(component: String, files: [String])
    case badShardIndex(file: String, reason: String)
    case missingShard(index: String, shard: String)
    case notInCache(repository: String, hub: String)
    case missingRef(repository: String, ref: String, path: String)
    case missingSnapshot(repository: String, revision: String, path: String)

    public var description: String {
        switch self {
        case let .notAFolder(p): "\(p) is not a folder"
        case let .missingModelIndex(p): "\(p) has no model_index.json: not a diffusers pipeline folder"
        case let .missingComponent(c, p): "the pipeline has no \(c) folder (looked for \(p))"
        case let .missingConfig(p): "\(p) is missing"
        case let .missingWeights(c, f, tried): "no \(c) weights in \(f) (looked for \(tried.joined(separator: ", ")))"
        case let .pickleOnly(c, files):
            "the \(c) weights are only in pickle format (\(files.joined(separator: ", "))); pickles can execute code "
                + "and are never loaded. Download the .safetensors files of this model, or convert the weights to "
                + "safetensors in a trusted environment."
        case let .badShardIndex(f, why): "\(f): \(why)"
        case let .missingShard(i, s): "\(i) lists \(s), which is missing"
        case let .notInCache(r, h): "\(r) is not in the Hugging Face cache at \(h)"
        case let .missingRef(r, ref, p): "\(r): revision \"\(ref)\" is not in the cache (no \(p))"
        case let .missingSnapshot(r, rev, p): "\(r): snapshot \(rev) is not in the cache (no \(p))"
        }
    }
}

/// Which weight file variant to use.
public enum WeightVariant: Sendable, Equatable {
    /// The default files (usually float32).
    case standard
    /// A named variant such as "fp16" (`diffusion_pytorch_model.fp16.safetensors`).
    case named(String)
    /// The default files if present, else the fp16 variant.
    case any

    public static let fp16 = WeightVariant.named("fp16")
}

/// The safetensors files holding one component's weights.
public struct WeightFiles: Sendable, Equatable {
    /// One file, or the shards in the order the index first lists them.
    public let files: [URL]
    /// The shard index (`*.safetensors.index.json`), when the weights are sharded.
    public let index: URL?
    /// The variant found ("fp16"), or nil for the default files.
    public let variant: String?
}

/// A diffusers pipeline folder: `model_index.json`, `unet/`, `vae/`, `text_encoder/`, `tokenizer/`, `scheduler/`.
public struct DiffusersFolder: Sendable {
    public let root: URL
    public let index: ModelIndex

    public init(_ root: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DiffusersFolderError.notAFolder(root.path)
        }
        let indexURL = root.appendingPathComponent("model_index.json")
        guard FileManager.default.fileExists(atPath: indexURL.path) else {
            throw DiffusersFolderError.missingModelIndex(root.path)
        }
        self.root = root
        self.index = try DiffusionConfig.load(ModelIndex.self, from: indexURL)
    }

    /// A pipeline from the Hugging Face cache (`repository` like "stabilityai/stable-diffusion-2-inpainting").
    public init(repository: String, revision: String = "main",
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        try self.init(HuggingFaceCache.snapshot(repository: repository, revision: revision,
                                                hub: HuggingFaceCache.hubDirectory(environment: environment)))
    }

    /// The sub-folder of a component, which must exist.
    public func folder(_ component: String) throws -> URL {
        let url = root.appendingPathComponent(component, isDirectory: true)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DiffusersFolderError.missingComponent(component: component, path: url.path)
        }
        return url
    }

    /// `scheduler/scheduler_config.json`, or `<component>/config.json`.
    public func configURL(_ component: String) throws -> URL {
        let name = component == "scheduler" ? "scheduler_config.json" : "config.json"
        let url = try folder(component).appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else { throw DiffusersFolderError.missingConfig(url.path) }
        return url
    }

    public func unetConfig() throws -> UNet2DConditionConfig {
        try DiffusionConfig.load(UNet2DConditionConfig.self, from: configURL("unet"))
    }

    public func vaeConfig() throws -> AutoencoderKLConfig {
        try DiffusionConfig.load(AutoencoderKLConfig.self, from: configURL("vae"))
    }

    public func textEncoderConfig() throws -> CLIPTextConfig {
        try DiffusionConfig.load(CLIPTextConfig.self, from: configURL("text_encoder"))
    }

    public func schedulerConfig() throws -> SchedulerConfig {
        try DiffusionConfig.load(SchedulerConfig.self, from: configURL("scheduler"))
    }

    public func tokenizer() throws -> CLIPTokenizer {
        try CLIPTokenizer(folder: folder("tokenizer"))
    }

    /// The safetensors weights of a component: diffusers' `diffusion_pytorch_model` or transformers' `model`,
    /// single-file or sharded, in the requested variant.
    public func weights(_ component: String, variant: WeightVariant = .any) throws -> WeightFiles {
        try Self.weights(in: folder(component), component: component, variant: variant)
    }

    static let weightStems = ["diffusion_pytorch_model", "model"]
    static let pickleExtensions: Set<String> = ["bin", "ckpt", "pt", "pth", "pkl", "pickle"]

    static func weights(in dir: URL, component: String, variant: WeightVariant) throws -> WeightFiles {
        let variants: [String?] = switch variant {
        case .standard: [nil]
        case let .named(v): [v]
        case .any: [nil, "fp16"]
        }
        var tried: [String] = []
        let fm = FileManager.default
        for v in variants {
            for stem in weightStems {
                let single = v.map { "\(stem).\($0).safetensors" } ?? "\(stem).safetensors"
                let indexName = v.map { "\(stem).safetensors.index.\($0).json" } ?? "\(stem).safetensors.index.json"
                tried += [single, indexName]
                let singleURL = dir.appendingPathComponent(single)
                if fm.fileExists(atPath: singleURL.path) {
                    return WeightFiles(files: [singleURL], index: nil, variant: v)
                }
                let indexURL = dir.appendingPathComponent(indexName)
                if fm.fileExists(atPath: indexURL.path) {
                    return WeightFiles(files: try shards(indexURL, in: dir), index: indexURL, variant: v)
                }
            }
        }
        let entries = (try? fm.contentsOfDirectory(atPath: dir.path)) ?? []
        let pickles = entries.filter { pickleExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        if !pickles.isEmpty { throw DiffusersFolderError.pickleOnly(component: component, files: pickles) }
        throw DiffusersFolderError.missingWeights(component: component, folder: dir.path, tried: tried)
    }

    /// Shard files named by an index's `weight_map`, each once, in first-listed order (sorted by tensor name).
    static func shards(_ indexURL: URL, in dir: URL) throws -> [URL] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(contentsOf: indexURL))
        } catch {
            throw DiffusersFolderError.badShardIndex(file: indexURL.path, reason: "not readable JSON (\(error.localizedDescription))")
        }
        guard let map = (object as? [String: Any])?["weight_map"] as? [String: Any], !map.isEmpty else {
            throw DiffusersFolderError.badShardIndex(file: indexURL.path, reason: "no weight_map")
        }
        var names: [String] = []
        for (tensor, value) in map.sorted(by: { $0.key < $1.key }) {
            guard let name = value as? String else {
                throw DiffusersFolderError.badShardIndex(file: indexURL.path, reason: "shard of \(tensor) is not a file name")
            }
            // A shard is a sibling file: nothing that could point outside the folder.
            guard !name.isEmpty, !name.contains("/"), !name.contains("\\"), name != ".", name != "..",
                  name.hasSuffix(".safetensors")
            else {
                throw DiffusersFolderError.badShardIndex(file: indexURL.path, reason: "shard name \"\(name)\" is not a .safetensors file in the same folder")
            }
            if !names.contains(name) { names.append(name) }
        }
        return try names.map { name in
            let url = dir.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw DiffusersFolderError.missingShard(index: indexURL.path, shard: name)
            }
            return url
        }
    }
}

/// The Hugging Face hub cache layout: `<hub>/models--ORG--NAME/{refs/<ref>, snapshots/<commit>/...}`.
public enum HuggingFaceCache {
    /// `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
    public static func hubDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        func nonEmpty(_ key: String) -> String? {
            guard let v = environment[key], !v.isEmpty else { return nil }
            return (v as NSString).expandingTildeInPath
        }
        if let hub = nonEmpty("HF_HUB_CACHE") { return URL(fileURLWithPath: hub, isDirectory: true) }
        if let home = nonEmpty("HF_HOME") {
            return URL(fileURLWithPath: home, isDirectory: true).appendingPathComponent("hub", isDirectory: true)
        }
        let cache = nonEmpty("XDG_CACHE_HOME") ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString)
            .appendingPathComponent(".cache")
        return URL(fileURLWithPath: cache, isDirectory: true).appendingPathComponent("huggingface/hub", isDirectory: true)
    }

    /// `models--stabilityai--sd-turbo` for "stabilityai/sd-turbo".
    public static func folderName(repository: String) -> String {
        "models--" + repository.replacingOccurrences(of: "/", with: "--")
    }

    /// The snapshot folder of `repository` at `revision`: a ref name ("main") resolved through `refs/`, or a
    /// commit hash used directly.
    public static func snapshot(repository: String, revision: String = "main", hub: URL) throws -> URL {
        let fm = FileManager.default
        let repoDir = hub.appendingPathComponent(folderName(repository: repository), isDirectory: true)
        // "a/../b", "/org/name" and the like never name a folder of the cache.
        guard ModelCatalog.isValidRepositoryID(repository), fm.fileExists(atPath: repoDir.path) else {
            throw DiffusersFolderError.notInCache(repository: repository, hub: hub.path)
        }
        guard !revision.isEmpty, !revision.split(separator: "/").contains("..") else {
            throw DiffusersFolderError.missingRef(repository: repository, ref: revision, path: repoDir.path)
        }
        var commit = revision
        let isHash = revision.count == 40 && revision.allSatisfy(\.isHexDigit)
        if !isHash {
            let ref = repoDir.appendingPathComponent("refs").appendingPathComponent(revision)
            guard let text = try? String(contentsOf: ref, encoding: .utf8) else {
                throw DiffusersFolderError.missingRef(repository: repository, ref: revision, path: ref.path)
            }
            commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard !commit.isEmpty, !commit.contains("/"), commit != "..", commit != "." else {
            throw DiffusersFolderError.missingRef(repository: repository, ref: revision, path: repoDir.path)
        }
        let snapshot = repoDir.appendingPathComponent("snapshots").appendingPathComponent(commit, isDirectory: true)
        guard fm.fileExists(atPath: snapshot.path) else {
            throw DiffusersFolderError.missingSnapshot(repository: repository, revision: commit, path: snapshot.path)
        }
        return snapshot
    }
}
