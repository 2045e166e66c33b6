import Foundation
import Networks
import TensorCore

/// A prompt pair as the UNet reads it: text-encoder states of the positive and negative prompts.
struct PromptEmbedding: Sendable {
    let positive: Tensor
    let negative: Tensor
}

/// One diffusion model as the painter uses it: the UNet, the autoencoder it works in, the scheduler
/// configuration its repository ships.
struct DiffusionModel: Sendable {
    let repository: String
    let unet: UNet2DCondition
    let autoencoder: any LatentAutoencoder
    let scheduler: SchedulerConfig
}

public enum SVIAModelError: Error, CustomStringConvertible {
    /// What is missing and how to get it.
    case missing(String)
    case unusable(repository: String, path: String, reason: String)

    public var description: String {
        switch self {
        case let .missing(detail):
            return "--method svia cannot start: \(detail)\n(--method blur, pixelate or graymask need no models)"
        case let .unusable(repo, path, reason):
            return "\(repo) (\(path)): \(reason)"
        }
    }
}

/// Everything `--method svia` loads before the first picture: the inpainter, the harmonizer, and the prompt
/// embeddings (the text encoders are dropped once the prompts are encoded).
public struct SVIAModels: Sendable {
    let inpainter: DiffusionModel
    let harmonizer: DiffusionModel?
    /// Per category, per class with its own prompt (`class:NAME`), plus "combined".
    let inpaintPrompts: [String: PromptEmbedding]
    let harmonizerPrompt: PromptEmbedding?

    /// The snapshot folders of the settings' models (and of one of `segmenters`, the first found, when it is not
    /// empty) in the hub cache, or an error that names what is missing, its size and how to get it — checked before
    /// any work starts. A repository the catalog knows is found through any of its entry's sources (e.g. a community
    /// copy of a withdrawn one); any snapshot `refs/main` points at is accepted too.
    public static func locate(_ settings: SVIASettings, segmenters: [String] = [],
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [String: URL] {
        let store = ModelStore(catalog: (try? ModelCatalog.active(environment: environment)) ?? .builtIn, environment: environment)
        func cached(_ repo: String) -> URL? { path(repo, store: store) }
        var found: [String: URL] = [:]
        var missing: [String] = []
        for repo in settings.repositories {
            if let url = cached(repo) { found[repo] = url } else { missing.append(repo) }
        }
        if !segmenters.isEmpty {
            if let repo = segmenters.first(where: { cached($0) != nil }) {
                found[repo] = cached(repo)
            } else {
                // The first the store can download stands for the slot.
                let entries = segmenters.compactMap(store.catalog.entry(servedBy:))
                missing.append((entries.first { !$0.fetchableSources.isEmpty } ?? entries.first)?.repository ?? segmenters[0])
            }
        }
        if !missing.isEmpty {
            let entries = missing.compactMap(store.catalog.entry(servedBy:))
            let presetIDs = Set((store.catalog.presets[settings.preset.rawValue] ?? []).joined())
            let preset = entries.allSatisfy { presetIDs.contains($0.id) } ? settings.preset.rawValue : nil
            let detail = entries.count == missing.count
                ? MissingModels(models: entries, hub: store.hub.path, preset: preset).description
                : "missing models (looked in the Hugging Face cache at \(store.hub.path)): \(missing.joined(separator: ", "))\n" + missingModelsAdvice(missing)
            throw SVIAModelError.missing(detail)
        }
        return found
    }

    /// The snapshot folders of those of `repositories` that are in the hub cache (nothing is loaded or fetched).
    public static func paths(_ repositories: [String],
                             environment: [String: String] = ProcessInfo.processInfo.environment) -> [String: URL] {
        paths(repositories, store: ModelStore(catalog: (try? ModelCatalog.active(environment: environment)) ?? .builtIn,
                                              environment: environment))
    }

    static func paths(_ repositories: [String], store: ModelStore) -> [String: URL] {
        var found: [String: URL] = [:]
        for repo in repositories { found[repo] = path(repo, store: store) }
        return found
    }

    /// A repository's snapshot folder: through any source of the catalog entry that serves it (a community copy
    /// of a withdrawn one), else any snapshot `refs/main` points at.
    static func path(_ repo: String, store: ModelStore) -> URL? {
        store.catalog.entry(servedBy: repo).flatMap(store.path) ?? (try? HuggingFaceCache.snapshot(repository: repo, hub: store.hub))
    }

    /// How to get models that are not in the catalog.
    public static func missingModelsAdvice(_ repos: [String]) -> String {
        "Copy a Hugging Face cache that holds them and set HF_HOME or HF_HUB_CACHE to it (on a machine with access: `huggingface-cli download REPO`)."
    }

    /// Loads the models of `settings` from their snapshot folders.
    public static func load(_ settings: SVIASettings, folders: [String: URL]) throws -> SVIAModels {
        func folder(_ repo: String) throws -> DiffusersFolder {
            guard let url = folders[repo] else {
                throw SVIAModelError.missing("\(repo) was not located")
            }
            return try wrap(repo, url) { try DiffusersFolder(url) }
        }
        var tiny: (any LatentAutoencoder)? = nil
        if let t = settings.tinyAutoencoderRepository, let url = folders[t] {
            // madebyollin/taesd keeps the diffusers component at the repository's root.
            let componentFolder = FileManager.default.fileExists(atPath: url.appendingPathComponent("vae/config.json").path)
                ? url.appendingPathComponent("vae") : url
            tiny = try wrap(t, componentFolder) { try AutoencoderTiny.load(componentFolder: componentFolder) }
        }
        func embed(_ p: CategoryPrompt, _ encoder: CLIPTextEncoder, _ tokenizer: CLIPTokenizer) -> PromptEmbedding {
            let states = encoder.embed([p.negative, p.positive], tokenizer: tokenizer).chunked(2, dim: 0)
            return PromptEmbedding(positive: states[1], negative: states[0])
        }
        let sameModel = settings.harmonizerRepository == settings.inpainterRepository
        // Each text encoder lives only while its prompts are encoded: the UNets need the memory.
        let (inpainter, (prompts, sharedHarmonizerPrompt)) = try loadModel(
            settings.inpainterRepository, folder(settings.inpainterRepository), tiny: tiny, fastKernels: !settings.lowMemory
        ) { encoder, tokenizer in
            var prompts: [String: PromptEmbedding] = [:]
            for category in PrivacyCategory.allCases {
                prompts[category.rawValue] = embed(settings.prompts.prompt(for: category), encoder, tokenizer)
            }
            for (name, prompt) in settings.prompts.classes {
                prompts[SVIAPainter.classKey(name)] = embed(prompt, encoder, tokenizer)
            }
            prompts["combined"] = embed(settings.prompts.combined, encoder, tokenizer)
            return (prompts, sameModel ? embed(settings.prompts.harmonizer, encoder, tokenizer) : nil)
        }

        var harmonizer: DiffusionModel? = nil
        var harmonizerPrompt: PromptEmbedding? = sharedHarmonizerPrompt
        if let h = settings.harmonizerRepository {
            if sameModel {
                harmonizer = inpainter
            } else {
                (harmonizer, harmonizerPrompt) = try loadModel(h, folder(h), tiny: tiny, fastKernels: !settings.lowMemory) { encoder, tokenizer in
                    embed(settings.prompts.harmonizer, encoder, tokenizer)
                }
            }
            if harmonizer!.unet.config.inChannels != harmonizer!.unet.config.outChannels {
                throw SVIAModelError.unusable(repository: h, path: folders[h]?.path ?? "",
                                              reason: "its UNet takes \(harmonizer!.unet.config.inChannels) input channels; the harmonizer needs a text-to-image UNet")
            }
        }
        return SVIAModels(inpainter: inpainter, harmonizer: harmonizer, inpaintPrompts: prompts, harmonizerPrompt: harmonizerPrompt)
    }

    /// A model's UNet, autoencoder (its own, or `tiny`) and scheduler configuration, and what `encode` makes of
    /// its text encoder and tokenizer (loaded first, and released before the UNet is loaded).
    static func loadModel<T>(_ repo: String, _ folder: DiffusersFolder, tiny: (any LatentAutoencoder)?, fastKernels: Bool,
                             encode: (CLIPTextEncoder, CLIPTokenizer) throws -> T) throws -> (DiffusionModel, T) {
        try wrap(repo, folder.root) {
            let encoder = try CLIPTextEncoder.load(folder), tokenizer = try folder.tokenizer()
            try tokenizer.check(vocabSize: encoder.config.vocabSize, maxPositionEmbeddings: encoder.config.maxPositionEmbeddings,
                                folder: folder.root.appendingPathComponent("tokenizer").path)
            let encoded = try encode(encoder, tokenizer)
            let unet = try UNet2DCondition.load(folder, fastKernels: fastKernels)
            let autoencoder: any LatentAutoencoder = try tiny ?? AutoencoderKL.load(folder)
            return (DiffusionModel(repository: repo, unet: unet, autoencoder: autoencoder,
                                   scheduler: try folder.schedulerConfig()), encoded)
        }
    }

    /// Runs `body`, turning its errors into one that names the model and its folder.
    static func wrap<T>(_ repo: String, _ url: URL, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as SVIAModelError { throw e } catch {
            throw SVIAModelError.unusable(repository: repo, path: url.path, reason: "\(error)")
        }
    }
}
