// Models in the Hugging Face hub cache, fetched on request and verified, laid out as huggingface_hub 2.4
// does (file_download.py): `<hub>/models--ORG--NAME/{blobs/<etag>, snapshots/<commit>/<path> -> ../../blobs/<etag>,
// refs/<branch>}`, so caches made by huggingface_hub and by svia are interchangeable. Blob downloads hold the same
// per-blob lock huggingface_hub takes (`<hub>/.locks/models--ORG--NAME/<blob>.lock`, flock), so concurrent fetches
// into one cache never write the same file.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Progress of one file's download.
public struct FileProgress: Sendable {
    public var modelID: String
    public var path: String
    public var bytesDone: Int64
    /// nil when the server did not say.
    public var bytesTotal: Int64?
}

/// The state of one file after `verify`.
public enum FileCheck: Sendable, Equatable {
    case ok(path: String)
    case missing(path: String)
    case mismatch(path: String, expected: String, actual: String)
    /// A plain file, not a link to a blob named by its hash: nothing to compare against.
    case unverifiable(path: String)

    public var path: String {
        switch self {
        case let .ok(p), let .missing(p), let .mismatch(p, _, _), let .unverifiable(p): p
        }
    }
}

public enum ModelStoreError: Error, Equatable, CustomStringConvertible {
    case offline(model: String, missing: [String], hub: String)
    case http(model: String, file: String, url: String, status: Int, hint: String?)
    case transfer(model: String, file: String, url: String, reason: String)
    case missingHeader(model: String, file: String, url: String, header: String)
    case corrupted(model: String, file: String, expected: String, actual: String)
    case wrongSize(model: String, file: String, expected: Int64, actual: Int64)
    case io(path: String, reason: String)
    case notInCache(model: String, hub: String)
    case modelsMissing(MissingModels)
    case badEndpoint(String, reason: String)
    case badRepository(model: String, repository: String, revision: String)
    /// The hub gave no content hash for a file the catalog does not pin: nothing to check the download against.
    case unverifiable(model: String, file: String, url: String, etag: String?)
    case commitMismatch(model: String, repository: String, revision: String, expected: String, actual: String)
    /// The source serves other content than the catalog pins (before any download).
    case sourceMismatch(model: String, file: String, url: String, what: String)
    case noSource(model: String, reason: String)
    case allSourcesFailed(model: String, failures: [String])
    case lock(path: String, reason: String)

    public var description: String {
        switch self {
        case let .offline(m, missing, hub):
            "\(m): HF_HUB_OFFLINE is set and the Hugging Face cache at \(hub) lacks \(missing.joined(separator: ", "))"
        case let .http(m, f, url, status, hint):
            "\(m): \(f): the hub answered HTTP \(status) for \(url)" + (hint.map { ". \($0)" } ?? "")
        case let .transfer(m, f, url, why):
            "\(m): \(f): download from \(url) broke off (\(why)); run the same command again to resume"
        case let .missingHeader(m, f, url, h):
            "\(m): \(f): the answer from \(url) has no \(h) header; is HF_ENDPOINT a Hugging Face hub?"
        case let .corrupted(m, f, expected, actual):
            "\(m): \(f) is corrupted or not the pinned file: expected hash \(expected), got \(actual); the download was deleted"
        case let .wrongSize(m, f, expected, actual):
            "\(m): \(f) has \(actual) bytes, expected \(expected); the download was deleted"
        case let .io(p, why): "\(p): \(why)"
        case let .notInCache(m, hub): "\(m) is not (completely) in the Hugging Face cache at \(hub)"
        case let .modelsMissing(report): report.description
        case let .badEndpoint(e, why): "HF_ENDPOINT \"\(e)\" is not usable: \(why)"
        case let .badRepository(m, repo, rev):
            "\(m): \"\(repo)\" at \"\(rev)\" is not a valid hub repository id (ORG/NAME) and revision"
        case let .unverifiable(m, f, url, etag):
            "\(m): \(f): the answer from \(url) names no content hash (ETag \(etag.map { "\"\($0)\"" } ?? "missing")) and "
                + "the catalog pins none: refusing a file that cannot be checked"
        case let .commitMismatch(m, repo, rev, expected, actual):
            "\(m): \(repo) at \(rev) is commit \(actual), but the catalog pins \(expected); this source is refused"
        case let .sourceMismatch(m, f, url, what):
            "\(m): \(f): \(url) serves other content than the catalog pins (\(what)); this source is refused"
        case let .noSource(m, why): "\(m): svia has no source to download it from. \(why)"
        case let .allSourcesFailed(m, failures):
            "\(m): no source could be used:\n" + failures.map { "  - \($0)" }.joined(separator: "\n")
        case let .lock(p, why): "\(p): cannot lock (\(why))"
        }
    }
}

extension ModelStoreError {
    /// Errors that concern one source only: the next source of the entry is tried. A broken connection or a
    /// local file problem stops the fetch instead (running again resumes it).
    var triesNextSource: Bool {
        switch self {
        case .http, .missingHeader, .corrupted, .wrongSize, .unverifiable, .commitMismatch, .sourceMismatch: true
        default: false
        }
    }
}

/// Models a run needs that are not in the cache, with how to get them.
public struct MissingModels: Sendable, Equatable, CustomStringConvertible {
    public var models: [ModelEntry]
    public var hub: String
    /// The preset the run asked for: `svia models fetch --preset NAME` gets all of it.
    public var preset: String?

    public init(models: [ModelEntry], hub: String, preset: String? = nil) {
        self.models = models
        self.hub = hub
        self.preset = preset
    }

    /// Sum of the known sizes.
    public var knownBytes: Int64 { models.compactMap(\.sizeBytes).reduce(0, +) }
    public var unknownSizes: [String] { models.filter { $0.sizeBytes == nil }.map(\.id) }
    public var fetchCommand: String { "svia models fetch " + models.map(\.id).joined(separator: " ") }

    public var description: String {
        var lines = ["missing models (looked in the Hugging Face cache at \(hub)):"]
        for m in models {
            let size = m.sizeBytes.map(ModelStore.formatBytes) ?? "size unknown"
            let src = m.downloadSource ?? m.sources[0]
            lines.append("  \(m.id): \(src.repository) @ \(src.revision), \(size)")
            var others: [String] = []
            for o in m.sources where o.repository != src.repository && !others.contains(o.repository) { others.append(o.repository) }
            if !others.isEmpty { lines.append("    also taken from the cache as \(others.joined(separator: ", "))") }
            for o in m.sources where o.withdrawn { lines.append("    \(o.repository): \(o.note ?? "withdrawn from the hub")") }
            if let note = m.note { lines.append("    \(note)") }
            if !m.commercialUse { lines.append("    not for commercial use (\(m.licence.name))") }
        }
        var total = "total download: \(ModelStore.formatBytes(knownBytes))"
        if !unknownSizes.isEmpty { total += " plus \(unknownSizes.joined(separator: ", ")) (size unknown)" }
        lines.append(total)
        lines.append("fetch them with:")
        if let preset {
            lines.append("  svia models fetch --preset \(preset)")
            lines.append("  (or only these: \(fetchCommand))")
        } else {
            lines.append("  \(fetchCommand)")
        }
        lines.append("without network access here:")
        lines.append("  - copy an existing Hugging Face cache (its models--ORG--NAME folders) to this machine and set "
                     + "HF_HOME (the cache is HF_HOME/hub) or HF_HUB_CACHE to where it is, or")
        lines.append("  - on a machine with access run, then copy its cache over:")
        for m in models {
            guard let src = m.downloadSource else {
                lines.append("      (\(m.id): no downloadable source is known)")
                continue
            }
            let rev = src.revision == "main" ? "" : " --revision \(src.revision)"
            lines.append("      huggingface-cli download \(src.repository)\(rev) " + m.files.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}

/// What a run needs: slots of model ids, any one present model filling its slot (the first id preferred).
public struct ModelRequirement: Sendable, Equatable {
    public var slots: [[String]]
    /// The preset the slots come from, if any.
    public var preset: String?

    public init(slots: [[String]], preset: String? = nil) {
        self.slots = slots
        self.preset = preset
    }

    public init(ids: [String]) { self.slots = ids.map { [$0] } }

    public static func preset(_ name: String, catalog: ModelCatalog = .builtIn) throws -> ModelRequirement {
        _ = try catalog.preset(name)
        return ModelRequirement(slots: catalog.presets[name] ?? [], preset: name)
    }
}

/// An exclusive flock(2) on a lock file, released when the value goes away.
final class FileLock {
    private let fd: Int32

    init(_ url: URL) throws {
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ModelStoreError.lock(path: url.path, reason: String(cString: strerror(errno))) }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let why = String(cString: strerror(errno))
            close(fd)
            throw ModelStoreError.lock(path: url.path, reason: why)
        }
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

public final class ModelStore {
    public let catalog: ModelCatalog
    public let hub: URL
    /// `$HF_ENDPOINT` without a trailing slash, default https://huggingface.co.
    public let endpoint: String
    /// The parsed endpoint; nil when `endpointProblem` says why it is unusable.
    let endpointURL: URL?
    let endpointProblem: String?
    /// `$HF_TOKEN`, else the file `$HF_TOKEN_PATH`, else `$HF_HOME/token` (huggingface_hub's order).
    let token: String?
    /// `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) is true: the network is never used.
    public let offline: Bool
    private lazy var transport = HTTPTransport()

    public init(catalog: ModelCatalog = .builtIn, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.catalog = catalog
        hub = HuggingFaceCache.hubDirectory(environment: environment)
        var e = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
        while e.hasSuffix("/") { e.removeLast() }
        endpoint = e
        switch Self.parseEndpoint(e) {
        case let .success(url): endpointURL = url; endpointProblem = nil
        case let .failure(why): endpointURL = nil; endpointProblem = why.reason
        }
        token = Self.token(environment: environment)
        offline = Self.isTrue(environment["HF_HUB_OFFLINE"]) || Self.isTrue(environment["TRANSFORMERS_OFFLINE"])
    }

    struct EndpointProblem: Error { var reason: String }

    /// An http(s) URL with a host and no user, query or fragment.
    static func parseEndpoint(_ text: String) -> Result<URL, EndpointProblem> {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else {
            return .failure(EndpointProblem(reason: "not a URL"))
        }
        guard scheme == "https" || scheme == "http" else { return .failure(EndpointProblem(reason: "the scheme must be https (or http)")) }
        guard let host = url.host, !host.isEmpty else { return .failure(EndpointProblem(reason: "no host")) }
        guard url.user == nil, url.password == nil, url.query == nil, url.fragment == nil else {
            return .failure(EndpointProblem(reason: "user names, queries and fragments are not allowed"))
        }
        return .success(url)
    }

    /// huggingface_hub's token lookup: HF_TOKEN, then the file HF_TOKEN_PATH, then HF_HOME/token (HF_HOME defaulting
    /// to $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface).
    static func token(environment: [String: String]) -> String? {
        func nonEmpty(_ s: String?) -> String? {
            guard let t = s?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else { return nil }
            return t
        }
        if let t = nonEmpty(environment["HF_TOKEN"]) { return t }
        let path: String
        if let p = nonEmpty(environment["HF_TOKEN_PATH"]) {
            path = (p as NSString).expandingTildeInPath
        } else {
            let home = nonEmpty(environment["HF_HOME"]).map { ($0 as NSString).expandingTildeInPath }
                ?? ((nonEmpty(environment["XDG_CACHE_HOME"]) ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString)
                        .appendingPathComponent(".cache")) as NSString).appendingPathComponent("huggingface")
            path = (home as NSString).appendingPathComponent("token")
        }
        return nonEmpty(try? String(contentsOfFile: path, encoding: .utf8))
    }

    /// huggingface_hub's reading of a boolean variable.
    static func isTrue(_ value: String?) -> Bool {
        guard let v = value?.uppercased() else { return false }
        return ["1", "ON", "YES", "TRUE"].contains(v)
    }

    // MARK: - Cache layout

    public func repositoryFolder(_ entry: ModelEntry) -> URL { repositoryFolder(entry.sources[0]) }

    public func repositoryFolder(_ source: ModelSource) -> URL {
        hub.appendingPathComponent(HuggingFaceCache.folderName(repository: source.repository), isDirectory: true)
    }

    /// The commit the cache holds for the source's revision (the revision itself when it is a commit); nil when
    /// unknown there, or when the ref points at another commit than the pinned one.
    func cachedCommit(_ source: ModelSource) -> String? {
        guard ModelCatalog.isValidRepositoryID(source.repository), ModelCatalog.isValidRevision(source.revision) else { return nil }
        if source.revisionIsCommit { return source.revision }
        let ref = repositoryFolder(source).appendingPathComponent("refs").appendingPathComponent(source.revision)
        guard let text = try? String(contentsOf: ref, encoding: .utf8) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return ModelEntry.isCommitHash(commit) && source.commitMatches(commit) ? commit : nil
    }

    func snapshotFolder(_ source: ModelSource, commit: String) -> URL {
        repositoryFolder(source).appendingPathComponent("snapshots").appendingPathComponent(commit, isDirectory: true)
    }

    /// Files of the entry missing from the source's snapshot (all of them when its revision is unknown there).
    func missingFiles(_ entry: ModelEntry, source: ModelSource) -> [String] {
        guard let commit = cachedCommit(source) else { return entry.files }
        let snap = snapshotFolder(source, commit: commit)
        return entry.files.filter { !FileManager.default.fileExists(atPath: snap.appendingPathComponent($0).path) }
    }

    /// The source whose snapshot holds most of the entry (the first on a tie).
    func bestSource(_ entry: ModelEntry) -> ModelSource {
        var best = entry.sources[0]
        var fewest = Int.max
        for s in entry.sources {
            let n = missingFiles(entry, source: s).count
            if n < fewest { best = s; fewest = n }
        }
        return best
    }

    /// Files of the entry that are not in the cache, for the source that has most of it.
    public func missingFiles(_ entry: ModelEntry) -> [String] { missingFiles(entry, source: bestSource(entry)) }

    public func isPresent(_ entry: ModelEntry) -> Bool { presentSource(entry) != nil }

    /// The first source whose snapshot holds all of the entry's files, with that folder.
    public func presentSource(_ entry: ModelEntry) -> (source: ModelSource, folder: URL)? {
        for s in entry.sources where missingFiles(entry, source: s).isEmpty {
            if let commit = cachedCommit(s) { return (s, snapshotFolder(s, commit: commit)) }
        }
        return nil
    }

    /// The snapshot folder holding all of the entry's files, or nil.
    public func path(_ entry: ModelEntry) -> URL? { presentSource(entry)?.folder }

    /// The models of a requirement, one per slot, each the first of its slot that is present; throws
    /// `modelsMissing` (naming, for every unfilled slot, the first model svia can download) before any work starts.
    public func check(_ requirement: ModelRequirement) throws -> [ModelEntry] {
        var found: [ModelEntry] = []
        var missing: [ModelEntry] = []
        for slot in requirement.slots {
            let entries = try slot.map { try catalog.entry($0) }
            if let present = entries.first(where: isPresent) {
                found.append(present)
            } else if let preferred = entries.first(where: { !$0.fetchableSources.isEmpty }) ?? entries.first {
                missing.append(preferred)
            }
        }
        if !missing.isEmpty {
            throw ModelStoreError.modelsMissing(MissingModels(models: missing, hub: hub.path, preset: requirement.preset))
        }
        return found
    }

    // MARK: - Fetch

    /// Downloads whatever of the entry is not in the cache and returns its snapshot folder. The sources are tried in
    /// order; one that answers with an error, another commit than the pinned one or other content than the pinned
    /// hashes is refused and the next one tried. Interrupted downloads resume from their `.incomplete` file; every
    /// new file is hash-checked before it enters the cache.
    @discardableResult
    public func fetch(_ entry: ModelEntry, progress: ((FileProgress) -> Void)? = nil) throws -> URL {
        if let present = presentSource(entry) {
            // A pinned commit whose files are all there (or a source never downloaded from) needs no request.
            if offline || present.source.expectedCommit != nil || !present.source.fetch { return present.folder }
        }
        if offline { throw ModelStoreError.offline(model: entry.id, missing: missingFiles(entry), hub: hub.path) }
        let sources = entry.fetchableSources
        guard !sources.isEmpty else {
            throw ModelStoreError.noSource(model: entry.id, reason: entry.note ?? entry.sources.compactMap(\.note).joined(separator: " "))
        }
        if let endpointProblem { throw ModelStoreError.badEndpoint(endpoint, reason: endpointProblem) }
        var failures: [(ModelSource, ModelStoreError)] = []
        for source in sources {
            do {
                return try fetch(entry, from: source, progress: progress)
            } catch let e as ModelStoreError where e.triesNextSource {
                failures.append((source, e))
            }
        }
        if failures.count == 1 { throw failures[0].1 }
        throw ModelStoreError.allSourcesFailed(model: entry.id, failures: failures.map { "\($0.0.repository) @ \($0.0.revision): \($0.1)" })
    }

    func fetch(_ entry: ModelEntry, from source: ModelSource, progress: ((FileProgress) -> Void)?) throws -> URL {
        guard ModelCatalog.isValidRepositoryID(source.repository), ModelCatalog.isValidRevision(source.revision) else {
            throw ModelStoreError.badRepository(model: entry.id, repository: source.repository, revision: source.revision)
        }
        var commit: String?
        for path in entry.files {
            let c = try fetchFile(entry, source: source, path: path, progress: progress)
            if commit == nil { commit = c }
            if commit != c {
                throw ModelStoreError.io(path: repositoryFolder(source).path,
                                         reason: "\(source.repository) moved from commit \(commit!) to \(c) during the download; run again")
            }
        }
        guard let commit else { throw ModelStoreError.io(path: repositoryFolder(source).path, reason: "\(entry.id) lists no files") }
        if !source.revisionIsCommit {
            try writeAtomically(Data(commit.utf8), to: repositoryFolder(source).appendingPathComponent("refs")
                .appendingPathComponent(source.revision))
        }
        return snapshotFolder(source, commit: commit)
    }

    func resolveURL(_ source: ModelSource, path: String) throws -> URL {
        let encoded = path.split(separator: "/").map {
            String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? String($0)
        }.joined(separator: "/")
        let rev = source.revision.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? source.revision
        guard endpointProblem == nil, let url = URL(string: "\(endpoint)/\(source.repository)/resolve/\(rev)/\(encoded)") else {
            throw ModelStoreError.badEndpoint(endpoint, reason: endpointProblem ?? "cannot form a URL for \(source.repository)")
        }
        return url
    }

    /// Whether a request to `url` may carry the token: only to the endpoint's own scheme, host and port, and only
    /// over https (plain http only when the endpoint itself is http on the loopback interface, as in tests).
    func mayCarryToken(_ url: URL) -> Bool {
        guard let hubURL = endpointURL, let scheme = url.scheme?.lowercased(), scheme == hubURL.scheme?.lowercased(),
              let host = url.host?.lowercased(), host == hubURL.host?.lowercased()
        else { return false }
        func port(_ u: URL) -> Int? { u.port ?? (u.scheme?.lowercased() == "https" ? 443 : 80) }
        guard port(url) == port(hubURL) else { return false }
        return scheme == "https" || ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
    }

    var baseHeaders: [String: String] { ["Accept-Encoding": "identity", "User-Agent": "svia/0.1"] }

    func headers(for url: URL) -> [String: String] {
        var h = baseHeaders
        if let token, mayCarryToken(url) { h["Authorization"] = "Bearer \(token)" }
        return h
    }

    /// huggingface_hub's `_normalize_etag`: drop a weak-validator prefix and the quotes.
    static func normalizeETag(_ raw: String?) -> String? {
        guard var e = raw?.trimmingCharacters(in: .whitespaces), !e.isEmpty else { return nil }
        if e.hasPrefix("W/") { e.removeFirst(2) }
        return e.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// One file: metadata by HEAD, then the blob (unless cached), then the snapshot link. Returns the commit.
    func fetchFile(_ entry: ModelEntry, source: ModelSource, path: String, progress: ((FileProgress) -> Void)?) throws -> String {
        let url = try resolveURL(source, path: path)
        let meta: HTTPResponse
        do {
            meta = try transport.head(url, headers: headers(for: url))
        } catch {
            throw ModelStoreError.transfer(model: entry.id, file: path, url: url.absoluteString, reason: "\(error)")
        }
        guard meta.status < 400 else {
            throw ModelStoreError.http(model: entry.id, file: path, url: url.absoluteString, status: meta.status,
                                       hint: Self.hint(status: meta.status, entry: entry))
        }
        guard let commit = meta.header("X-Repo-Commit")?.lowercased(), ModelEntry.isCommitHash(commit) else {
            throw ModelStoreError.missingHeader(model: entry.id, file: path, url: url.absoluteString, header: "X-Repo-Commit")
        }
        guard source.commitMatches(commit) else {
            throw ModelStoreError.commitMismatch(model: entry.id, repository: source.repository, revision: source.revision,
                                                 expected: source.expectedCommit ?? "", actual: commit)
        }
        let etag = Self.normalizeETag(meta.header("X-Linked-Etag") ?? meta.header("ETag"))
        let isRedirect = (300..<400).contains(meta.status)
        var size = (meta.header("X-Linked-Size") ?? (isRedirect ? nil : meta.header("Content-Length"))).flatMap { Int64($0) }
        let pin = entry.pins[path]

        // What the file must hash to: the catalog's pin, else the hash the hub names it by. Nothing else is accepted.
        let blobName: String
        let kind: HashKind
        if let sha = pin?.sha256 {
            if let etag, Self.hashKind(etag) == .sha256, etag.lowercased() != sha {
                throw ModelStoreError.sourceMismatch(model: entry.id, file: path, url: url.absoluteString,
                                                     what: "its SHA-256 is \(etag.lowercased()), pinned \(sha)")
            }
            blobName = sha
            kind = .sha256
        } else if let etag, let k = Self.hashKind(etag) {
            blobName = etag
            kind = k
        } else {
            throw ModelStoreError.unverifiable(model: entry.id, file: path, url: url.absoluteString, etag: etag)
        }
        if let pinned = pin?.size {
            if let size, size != pinned {
                throw ModelStoreError.sourceMismatch(model: entry.id, file: path, url: url.absoluteString,
                                                     what: "it has \(size) bytes, pinned \(pinned)")
            }
            size = pinned
        }
        let download = meta.header("Location").flatMap { URL(string: $0, relativeTo: url)?.absoluteURL } ?? url

        let repo = repositoryFolder(source)
        let blobs = repo.appendingPathComponent("blobs", isDirectory: true)
        let blob = blobs.appendingPathComponent(blobName)
        let fm = FileManager.default
        if !fm.fileExists(atPath: blob.path) {
            try makeFolder(blobs)
            // huggingface_hub's lock for this blob: another svia or huggingface_hub process writing it waits here.
            let lock = try FileLock(hub.appendingPathComponent(".locks").appendingPathComponent(repo.lastPathComponent)
                .appendingPathComponent(blobName + ".lock"))
            if !fm.fileExists(atPath: blob.path) {
                try downloadBlob(entry, path: path, from: download, expected: blobName.lowercased(), kind: kind, size: size,
                                 to: blob, progress: progress)
            }
            withExtendedLifetime(lock) {}
        } else {
            progress?(FileProgress(modelID: entry.id, path: path, bytesDone: size ?? 0, bytesTotal: size))
        }
        try link(repo: repo, commit: commit, path: path, blob: blobName)
        return commit
    }

    static func hint(status: Int, entry: ModelEntry) -> String? {
        switch status {
        case 401, 403:
            return "The repository may be gated, private or deleted: accept its terms on the hub and set HF_TOKEN" + (entry.note.map { ". \($0)" } ?? "")
        case 404:
            return "No such repository, revision or file" + (entry.note.map { ". \($0)" } ?? "")
        default:
            return nil
        }
    }

    /// Called with the blob's lock held: nobody else writes its `.incomplete` file meanwhile.
    private func downloadBlob(_ entry: ModelEntry, path: String, from url: URL, expected: String, kind: HashKind, size: Int64?,
                              to blob: URL, progress: ((FileProgress) -> Void)?) throws {
        let fm = FileManager.default
        let incomplete = URL(fileURLWithPath: blob.path + ".incomplete")
        var have: Int64 = (try? fm.attributesOfItem(atPath: incomplete.path)[.size] as? NSNumber)??.int64Value ?? 0
        if let size, have > size { try? fm.removeItem(at: incomplete); have = 0 }
        if !fm.fileExists(atPath: incomplete.path) {
            guard fm.createFile(atPath: incomplete.path, contents: nil) else {
                throw ModelStoreError.io(path: incomplete.path, reason: "cannot create the download file")
            }
        }
        if size == nil || have < size! {
            let handle: FileHandle
            do {
                handle = try FileHandle(forUpdating: incomplete)
                try handle.seek(toOffset: UInt64(have))
            } catch {
                throw ModelStoreError.io(path: incomplete.path, reason: error.localizedDescription)
            }
            defer { try? handle.close() }
            var headers = self.headers(for: url)
            if have > 0 { headers["Range"] = "bytes=\(have)-" }
            let sink = DownloadSink(handle: handle, offset: have, askedRange: have > 0) { done in
                progress?(FileProgress(modelID: entry.id, path: path, bytesDone: done, bytesTotal: size))
            }
            let response: HTTPResponse
            do {
                // Each redirect hop gets the token only when it may carry it (the CDN, or a downgrade to http, does not).
                response = try transport.get(url, headers: headers, authorize: mayCarryToken, onResponse: sink.accept, onData: sink.write)
            } catch {
                if let failure = sink.failure { throw ModelStoreError.io(path: incomplete.path, reason: failure) }
                if let status = sink.status, status >= 400 {
                    throw ModelStoreError.http(model: entry.id, file: path, url: url.absoluteString, status: status,
                                               hint: Self.hint(status: status, entry: entry))
                }
                throw ModelStoreError.transfer(model: entry.id, file: path, url: url.absoluteString, reason: "\(error)")
            }
            if response.status >= 400 {
                throw ModelStoreError.http(model: entry.id, file: path, url: url.absoluteString, status: response.status,
                                           hint: Self.hint(status: response.status, entry: entry))
            }
            if let failure = sink.failure { throw ModelStoreError.io(path: incomplete.path, reason: failure) }
            try? handle.synchronize()
        }
        try verifyDownload(entry, path: path, file: incomplete, expected: expected, kind: kind, size: size)
        // rename(2) puts the whole, verified file in place at once.
        guard rename(incomplete.path, blob.path) == 0 else {
            let why = String(cString: strerror(errno))
            throw ModelStoreError.io(path: blob.path, reason: why)
        }
    }

    /// Size first (when known), then the hash; a bad file is deleted so the next run starts over.
    private func verifyDownload(_ entry: ModelEntry, path: String, file: URL, expected: String, kind: HashKind, size: Int64?) throws {
        let fm = FileManager.default
        let actualSize = (try? fm.attributesOfItem(atPath: file.path)[.size] as? NSNumber)??.int64Value ?? -1
        if let size, actualSize != size {
            try? fm.removeItem(at: file)
            throw ModelStoreError.wrongSize(model: entry.id, file: path, expected: size, actual: actualSize)
        }
        let actual: String
        do {
            switch kind {
            case .sha256: actual = try SHA256.hex(fileAt: file)
            case .gitBlob: actual = try GitBlobHash.hex(fileAt: file)
            }
        } catch {
            throw ModelStoreError.io(path: file.path, reason: error.localizedDescription)
        }
        if actual != expected {
            try? fm.removeItem(at: file)
            throw ModelStoreError.corrupted(model: entry.id, file: path, expected: expected, actual: actual)
        }
    }

    enum HashKind { case sha256, gitBlob }

    static func hashKind(_ name: String) -> HashKind? {
        let hex = name.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }
        guard hex else { return nil }
        switch name.utf8.count {
        case 64: return .sha256
        case 40: return .gitBlob
        default: return nil
        }
    }

    /// `snapshots/<commit>/<path>` -> `../../blobs/<blob>` (one more `..` per folder level in `path`), made under a
    /// temporary name and renamed over the old link, so concurrent fetches never see a missing link.
    private func link(repo: URL, commit: String, path: String, blob: String) throws {
        let fm = FileManager.default
        let dst = repo.appendingPathComponent("snapshots").appendingPathComponent(commit).appendingPathComponent(path)
        let depth = path.split(separator: "/").count
        let target = String(repeating: "../", count: depth + 1) + "blobs/" + blob
        try makeFolder(dst.deletingLastPathComponent())
        if let existing = try? fm.destinationOfSymbolicLink(atPath: dst.path), existing == target { return }
        let tmp = dst.deletingLastPathComponent().appendingPathComponent(".\(dst.lastPathComponent).\(UUID().uuidString).link")
        do {
            try fm.createSymbolicLink(atPath: tmp.path, withDestinationPath: target)
            guard rename(tmp.path, dst.path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            try? fm.removeItem(at: tmp)
            throw ModelStoreError.io(path: dst.path, reason: "cannot create the snapshot link: \(error.localizedDescription)")
        }
    }

    private func makeFolder(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw ModelStoreError.io(path: url.path, reason: error.localizedDescription)
        }
    }

    private func writeAtomically(_ data: Data, to url: URL) throws {
        try makeFolder(url.deletingLastPathComponent())
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        if (try? Data(contentsOf: url)) == data { return }
        do {
            try data.write(to: tmp)
            // rename(2) replaces an existing file atomically: readers see the old or the new content.
            guard rename(tmp.path, url.path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw ModelStoreError.io(path: url.path, reason: error.localizedDescription)
        }
    }

    // MARK: - Verify

    /// Re-hashes the entry's cached files (in the source that holds most of it): a link to a blob named by a 64-hex
    /// SHA-256 or a 40-hex git blob id must hash to that name, and a file the catalog pins must be that blob.
    /// `progress` gets bytes hashed per file.
    public func verify(_ entry: ModelEntry, progress: ((FileProgress) -> Void)? = nil) -> [FileCheck] {
        let source = bestSource(entry)
        guard let commit = cachedCommit(source) else { return entry.files.map { .missing(path: $0) } }
        let snap = snapshotFolder(source, commit: commit)
        let fm = FileManager.default
        return entry.files.map { path in
            let file = snap.appendingPathComponent(path)
            guard fm.fileExists(atPath: file.path) else { return .missing(path: path) }
            guard let target = try? fm.destinationOfSymbolicLink(atPath: file.path) else { return .unverifiable(path: path) }
            let name = (target as NSString).lastPathComponent
            if let pinned = entry.pins[path]?.sha256, name.lowercased() != pinned {
                return .mismatch(path: path, expected: pinned, actual: name)
            }
            let total = (try? fm.attributesOfItem(atPath: file.resolvingSymlinksInPath().path)[.size] as? NSNumber)??.int64Value
            do {
                let actual: String
                switch Self.hashKind(name) {
                case .sha256:
                    actual = try SHA256.hex(fileAt: file) { done in
                        progress?(FileProgress(modelID: entry.id, path: path, bytesDone: done, bytesTotal: total))
                    }
                case .gitBlob: actual = try GitBlobHash.hex(fileAt: file)
                case .none: return .unverifiable(path: path)
                }
                return actual == name.lowercased() ? .ok(path: path) : .mismatch(path: path, expected: name, actual: actual)
            } catch {
                return .missing(path: path)
            }
        }
    }

    // MARK: - Formatting

    public static func formatBytes(_ n: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = Double(n)
        var i = 0
        while v >= 1000, i < units.count - 1 { v /= 1000; i += 1 }
        return i == 0 ? "\(n) B" : String(format: v < 10 ? "%.2f %@" : "%.1f %@", v, units[i])
    }
}

/// Writes a GET body into the `.incomplete` file: appends after a 206, starts over after a 200 (a server that
/// ignored the Range header).
private final class DownloadSink: @unchecked Sendable {
    let handle: FileHandle
    var offset: Int64
    let askedRange: Bool
    let report: (Int64) -> Void
    var status: Int?
    var failure: String?

    init(handle: FileHandle, offset: Int64, askedRange: Bool, report: @escaping (Int64) -> Void) {
        self.handle = handle
        self.offset = offset
        self.askedRange = askedRange
        self.report = report
    }

    func accept(_ r: HTTPResponse) -> Bool {
        status = r.status
        if r.status == 200 && askedRange || r.status == 200 && offset > 0 {
            do {
                try handle.truncate(atOffset: 0)
                try handle.seek(toOffset: 0)
                offset = 0
            } catch {
                failure = "cannot restart the download file: \(error.localizedDescription)"
                return false
            }
        }
        return r.status == 200 || r.status == 206
    }

    func write(_ data: Data) -> Bool {
        do {
            try handle.write(contentsOf: data)
        } catch {
            failure = "cannot write: \(error.localizedDescription)"
            return false
        }
        offset += Int64(data.count)
        report(offset)
        return true
    }
}
