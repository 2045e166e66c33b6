// Models in the Hugging Face hub cache, fetched on request and verified, laid out as huggingface_hub 2.4
// does (file_download.py): `<hub>/models--ORG--NAME/{blobs/<etag>, snapshots/<commit>/<path> -> ../../blobs/<etag>,
// refs/<branch>}`, so caches made by huggingface_hub and by svia are interchangeable.
import Foundation

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
            "\(m): \(f) is corrupted: expected hash \(expected), got \(actual); the download was deleted"
        case let .wrongSize(m, f, expected, actual):
            "\(m): \(f) has \(actual) bytes, expected \(expected); the download was deleted"
        case let .io(p, why): "\(p): \(why)"
        case let .notInCache(m, hub): "\(m) is not (completely) in the Hugging Face cache at \(hub)"
        case let .modelsMissing(report): report.description
        }
    }
}

/// Models a run needs that are not in the cache, with how to get them.
public struct MissingModels: Sendable, Equatable, CustomStringConvertible {
    public var models: [ModelEntry]
    public var hub: String

    public init(models: [ModelEntry], hub: String) {
        self.models = models
        self.hub = hub
    }

    /// Sum of the known sizes.
    public var knownBytes: Int64 { models.compactMap(\.sizeBytes).reduce(0, +) }
    public var unknownSizes: [String] { models.filter { $0.sizeBytes == nil }.map(\.id) }
    public var fetchCommand: String { "svia models fetch " + models.map(\.id).joined(separator: " ") }

    public var description: String {
        var lines = ["missing models (looked in the Hugging Face cache at \(hub)):"]
        for m in models {
            let size = m.sizeBytes.map(ModelStore.formatBytes) ?? "size unknown"
            lines.append("  \(m.id): \(m.repository) @ \(m.revision), \(size)")
            if let note = m.note { lines.append("    \(note)") }
        }
        var total = "total download: \(ModelStore.formatBytes(knownBytes))"
        if !unknownSizes.isEmpty { total += " plus \(unknownSizes.joined(separator: ", ")) (size unknown)" }
        lines.append(total)
        lines.append("fetch them with:")
        lines.append("  \(fetchCommand)")
        lines.append("without network access here:")
        lines.append("  - copy an existing Hugging Face cache (its models--ORG--NAME folders) to this machine and set "
                     + "HF_HOME (the cache is HF_HOME/hub) or HF_HUB_CACHE to where it is, or")
        lines.append("  - on a machine with access run, then copy its cache over:")
        for m in models {
            let rev = m.revision == "main" ? "" : " --revision \(m.revision)"
            lines.append("      huggingface-cli download \(m.repository)\(rev) " + m.files.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}

/// What a run needs: slots of model ids, any one present model filling its slot (the first id preferred).
public struct ModelRequirement: Sendable, Equatable {
    public var slots: [[String]]

    public init(slots: [[String]]) { self.slots = slots }
    public init(ids: [String]) { self.slots = ids.map { [$0] } }

    public static func preset(_ name: String, catalog: ModelCatalog = .builtIn) throws -> ModelRequirement {
        _ = try catalog.preset(name)
        return ModelRequirement(slots: catalog.presets[name] ?? [])
    }
}

public final class ModelStore {
    public let catalog: ModelCatalog
    public let hub: URL
    /// `$HF_ENDPOINT` without a trailing slash, default https://huggingface.co.
    public let endpoint: String
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
        token = environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        offline = Self.isTrue(environment["HF_HUB_OFFLINE"]) || Self.isTrue(environment["TRANSFORMERS_OFFLINE"])
    }

    /// huggingface_hub's reading of a boolean variable.
    static func isTrue(_ value: String?) -> Bool {
        guard let v = value?.uppercased() else { return false }
        return ["1", "ON", "YES", "TRUE"].contains(v)
    }

    // MARK: - Cache layout

    public func repositoryFolder(_ entry: ModelEntry) -> URL {
        hub.appendingPathComponent(HuggingFaceCache.folderName(repository: entry.repository), isDirectory: true)
    }

    /// The commit the cache holds for the entry's revision (the revision itself when it is a commit).
    func cachedCommit(_ entry: ModelEntry) -> String? {
        if entry.revisionIsCommit { return entry.revision }
        let ref = repositoryFolder(entry).appendingPathComponent("refs").appendingPathComponent(entry.revision)
        guard let text = try? String(contentsOf: ref, encoding: .utf8) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return ModelEntry.isCommitHash(commit) ? commit : nil
    }

    func snapshotFolder(_ entry: ModelEntry, commit: String) -> URL {
        repositoryFolder(entry).appendingPathComponent("snapshots").appendingPathComponent(commit, isDirectory: true)
    }

    /// Files of the entry that are not in the cache (all of them when the revision is unknown there).
    public func missingFiles(_ entry: ModelEntry) -> [String] {
        guard let commit = cachedCommit(entry) else { return entry.files }
        let snap = snapshotFolder(entry, commit: commit)
        return entry.files.filter { !FileManager.default.fileExists(atPath: snap.appendingPathComponent($0).path) }
    }

    public func isPresent(_ entry: ModelEntry) -> Bool { missingFiles(entry).isEmpty }

    /// The snapshot folder holding all of the entry's files, or nil.
    public func path(_ entry: ModelEntry) -> URL? {
        guard let commit = cachedCommit(entry), isPresent(entry) else { return nil }
        return snapshotFolder(entry, commit: commit)
    }

    /// The models of a requirement, one per slot, each the first of its slot that is present; throws
    /// `modelsMissing` (naming the preferred model of every unfilled slot) before any work starts.
    public func check(_ requirement: ModelRequirement) throws -> [ModelEntry] {
        var found: [ModelEntry] = []
        var missing: [ModelEntry] = []
        for slot in requirement.slots {
            let entries = try slot.map(catalog.entry)
            if let present = entries.first(where: isPresent) {
                found.append(present)
            } else if let preferred = entries.first {
                missing.append(preferred)
            }
        }
        if !missing.isEmpty { throw ModelStoreError.modelsMissing(MissingModels(models: missing, hub: hub.path)) }
        return found
    }

    // MARK: - Fetch

    /// Downloads whatever of the entry is not in the cache and returns its snapshot folder. Interrupted downloads
    /// resume from their `.incomplete` file; every new file is hash-checked before it enters the cache.
    @discardableResult
    public func fetch(_ entry: ModelEntry, progress: ((FileProgress) -> Void)? = nil) throws -> URL {
        if offline {
            let missing = missingFiles(entry)
            guard missing.isEmpty, let commit = cachedCommit(entry) else {
                throw ModelStoreError.offline(model: entry.id, missing: missing, hub: hub.path)
            }
            return snapshotFolder(entry, commit: commit)
        }
        // A pinned commit whose files are all there needs no request at all.
        if entry.revisionIsCommit, isPresent(entry) { return snapshotFolder(entry, commit: entry.revision) }
        var commit: String?
        for path in entry.files {
            let c = try fetchFile(entry, path: path, progress: progress)
            if commit == nil { commit = c }
            if commit != c {
                throw ModelStoreError.io(path: repositoryFolder(entry).path,
                                         reason: "\(entry.repository) moved from commit \(commit!) to \(c) during the download; run again")
            }
        }
        guard let commit else { throw ModelStoreError.io(path: repositoryFolder(entry).path, reason: "\(entry.id) lists no files") }
        if !entry.revisionIsCommit {
            try writeAtomically(Data(commit.utf8), to: repositoryFolder(entry).appendingPathComponent("refs")
                .appendingPathComponent(entry.revision))
        }
        return snapshotFolder(entry, commit: commit)
    }

    func resolveURL(_ entry: ModelEntry, path: String) -> URL {
        let encoded = path.split(separator: "/").map {
            String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? String($0)
        }.joined(separator: "/")
        let rev = entry.revision.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? entry.revision
        return URL(string: "\(endpoint)/\(entry.repository)/resolve/\(rev)/\(encoded)")!
    }

    var baseHeaders: [String: String] {
        var h = ["Accept-Encoding": "identity", "User-Agent": "svia/0.1"]
        if let token { h["Authorization"] = "Bearer \(token)" }
        return h
    }

    /// huggingface_hub's `_normalize_etag`: drop a weak-validator prefix and the quotes.
    static func normalizeETag(_ raw: String?) -> String? {
        guard var e = raw?.trimmingCharacters(in: .whitespaces), !e.isEmpty else { return nil }
        if e.hasPrefix("W/") { e.removeFirst(2) }
        return e.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// One file: metadata by HEAD, then the blob (unless cached), then the snapshot link. Returns the commit.
    func fetchFile(_ entry: ModelEntry, path: String, progress: ((FileProgress) -> Void)?) throws -> String {
        let url = resolveURL(entry, path: path)
        let meta: HTTPResponse
        do {
            meta = try transport.head(url, headers: baseHeaders)
        } catch {
            throw ModelStoreError.transfer(model: entry.id, file: path, url: url.absoluteString, reason: "\(error)")
        }
        guard meta.status < 400 else {
            throw ModelStoreError.http(model: entry.id, file: path, url: url.absoluteString, status: meta.status,
                                       hint: Self.hint(status: meta.status, entry: entry))
        }
        guard let commit = meta.header("X-Repo-Commit"), ModelEntry.isCommitHash(commit) else {
            throw ModelStoreError.missingHeader(model: entry.id, file: path, url: url.absoluteString, header: "X-Repo-Commit")
        }
        guard let etag = Self.normalizeETag(meta.header("X-Linked-Etag") ?? meta.header("ETag")),
              !etag.isEmpty, !etag.contains("/"), etag != ".", etag != ".."
        else {
            throw ModelStoreError.missingHeader(model: entry.id, file: path, url: url.absoluteString, header: "ETag")
        }
        let isRedirect = (300..<400).contains(meta.status)
        let size = (meta.header("X-Linked-Size") ?? (isRedirect ? nil : meta.header("Content-Length"))).flatMap { Int64($0) }
        let download = meta.header("Location").flatMap { URL(string: $0, relativeTo: url)?.absoluteURL } ?? url

        let repo = repositoryFolder(entry)
        let blobs = repo.appendingPathComponent("blobs", isDirectory: true)
        let blob = blobs.appendingPathComponent(etag)
        let fm = FileManager.default
        if !fm.fileExists(atPath: blob.path) {
            try makeFolder(blobs)
            try downloadBlob(entry, path: path, from: download, etag: etag, size: size, to: blob, progress: progress)
        } else {
            progress?(FileProgress(modelID: entry.id, path: path, bytesDone: size ?? 0, bytesTotal: size))
        }
        try link(repo: repo, commit: commit, path: path, etag: etag)
        return commit
    }

    static func hint(status: Int, entry: ModelEntry) -> String? {
        switch status {
        case 401, 403:
            return "The repository may be gated or private: accept its terms on the hub and set HF_TOKEN" + (entry.note.map { ". \($0)" } ?? "")
        case 404:
            return "No such repository, revision or file" + (entry.note.map { ". \($0)" } ?? "")
        default:
            return nil
        }
    }

    private func downloadBlob(_ entry: ModelEntry, path: String, from url: URL, etag: String, size: Int64?,
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
            var headers = baseHeaders
            // The token is for the hub only: a Location on another host (the CDN) gets none.
            let hubURL = URL(string: endpoint)
            if url.host != hubURL?.host || url.port != hubURL?.port { headers["Authorization"] = nil }
            if have > 0 { headers["Range"] = "bytes=\(have)-" }
            let sink = DownloadSink(handle: handle, offset: have, askedRange: have > 0) { done in
                progress?(FileProgress(modelID: entry.id, path: path, bytesDone: done, bytesTotal: size))
            }
            let response: HTTPResponse
            do {
                response = try transport.get(url, headers: headers, onResponse: sink.accept, onData: sink.write)
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
        try verifyDownload(entry, path: path, file: incomplete, etag: etag, size: size)
        do {
            try fm.moveItem(at: incomplete, to: blob)
        } catch {
            if !fm.fileExists(atPath: blob.path) { throw ModelStoreError.io(path: blob.path, reason: error.localizedDescription) }
            try? fm.removeItem(at: incomplete)
        }
    }

    /// Size first, then the hash the ETag names; a bad file is deleted so the next run starts over.
    private func verifyDownload(_ entry: ModelEntry, path: String, file: URL, etag: String, size: Int64?) throws {
        let fm = FileManager.default
        let actualSize = (try? fm.attributesOfItem(atPath: file.path)[.size] as? NSNumber)??.int64Value ?? -1
        if let size, actualSize != size {
            try? fm.removeItem(at: file)
            throw ModelStoreError.wrongSize(model: entry.id, file: path, expected: size, actual: actualSize)
        }
        let actual: String
        do {
            switch Self.hashKind(etag) {
            case .sha256: actual = try SHA256.hex(fileAt: file)
            case .gitBlob: actual = try GitBlobHash.hex(fileAt: file)
            case .none: return  // an ETag that is not a content hash: only the size can be checked
            }
        } catch {
            throw ModelStoreError.io(path: file.path, reason: error.localizedDescription)
        }
        if actual != etag.lowercased() {
            try? fm.removeItem(at: file)
            throw ModelStoreError.corrupted(model: entry.id, file: path, expected: etag, actual: actual)
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

    /// `snapshots/<commit>/<path>` -> `../../blobs/<etag>` (one more `..` per folder level in `path`).
    private func link(repo: URL, commit: String, path: String, etag: String) throws {
        let fm = FileManager.default
        let dst = repo.appendingPathComponent("snapshots").appendingPathComponent(commit).appendingPathComponent(path)
        let depth = path.split(separator: "/").count
        let target = String(repeating: "../", count: depth + 1) + "blobs/" + etag
        try makeFolder(dst.deletingLastPathComponent())
        if let existing = try? fm.destinationOfSymbolicLink(atPath: dst.path), existing == target { return }
        try? fm.removeItem(at: dst)
        do {
            try fm.createSymbolicLink(atPath: dst.path, withDestinationPath: target)
        } catch {
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

    /// Re-hashes the entry's cached files: a link to a blob named by a 64-hex SHA-256 or a 40-hex git blob id
    /// must hash to that name. `progress` gets bytes hashed per file.
    public func verify(_ entry: ModelEntry, progress: ((FileProgress) -> Void)? = nil) -> [FileCheck] {
        guard let commit = cachedCommit(entry) else { return entry.files.map { .missing(path: $0) } }
        let snap = snapshotFolder(entry, commit: commit)
        let fm = FileManager.default
        return entry.files.map { path in
            let file = snap.appendingPathComponent(path)
            guard fm.fileExists(atPath: file.path) else { return .missing(path: path) }
            guard let target = try? fm.destinationOfSymbolicLink(atPath: file.path) else { return .unverifiable(path: path) }
            let name = (target as NSString).lastPathComponent
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
