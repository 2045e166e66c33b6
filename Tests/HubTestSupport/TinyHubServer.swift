// A loopback HTTP/1.1 server that serves tiny model repositories the way the Hugging Face hub does:
// `/{repo}/resolve/{rev}/{path}` (rev a branch, a percent-encoded `refs/pr/N` or a commit) answers with X-Repo-Commit
// and ETag; LFS files answer 302 to `/cdn/<sha256>` with X-Linked-Etag and X-Linked-Size; the CDN honours
// `Range: bytes=N-` with 206; unknown repositories, revisions and files answer 404. Each connection is served on
// its own thread. Faults on request: cut a body after N bytes, serve corrupted bytes, ignore Range, demand a token,
// ETags that are no hash (and no size), another commit than the revision's, a slow CDN.
import Foundation
import Networks
#if canImport(Glibc)
import Glibc
#endif

public final class TinyHubServer: @unchecked Sendable {
    public struct Request: Equatable, Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]  // names lowercased
    }

    public struct RepoFile: Sendable {
        public var content: Data
        public var lfs: Bool
        public var sha256: String { SHA256.hex(content) }
        public var gitSHA1: String { GitBlobHash.hex(content) }

        public init(content: Data, lfs: Bool) {
            self.content = content
            self.lfs = lfs
        }
    }

    /// One revision of a repository: its commit and files.
    public struct Revision: Sendable {
        public var commit: String
        public var files: [String: RepoFile]

        public init(commit: String, files: [String: RepoFile]) {
            self.commit = commit
            self.files = files
        }
    }

    public let repository: String
    public let commit: String
    public let files: [String: RepoFile]
    /// repository -> revision name ("main", "refs/pr/4") -> revision.
    public let repositories: [String: [String: Revision]]

    private let lock = NSLock()
    private var _requests: [Request] = []
    private var _cutAfter: Int?
    private var _corrupt = false
    private var _ignoreRange = false
    private var _requiredToken: String?
    private var _cdnHost: String?
    private var _badETags = false
    private var _commitOverride: String?
    private var _cdnDelay: useconds_t = 0
    private var listener: Int32 = -1
    private var thread: Thread?
    public private(set) var port: UInt16 = 0

    public var endpoint: String { "http://127.0.0.1:\(port)" }

    public convenience init(repository: String, commit: String, files: [String: RepoFile]) throws {
        try self.init(repositories: [repository: ["main": Revision(commit: commit, files: files)]])
    }

    /// Serves every repository at its named revisions (and each revision at its commit). The first repository in
    /// name order, at "main" when it has one, is `repository`/`commit`/`files`.
    public init(repositories: [String: [String: Revision]]) throws {
        self.repositories = repositories
        let first = repositories.keys.sorted().first ?? ""
        let revs = repositories[first] ?? [:]
        let rev = revs["main"] ?? revs.values.first ?? Revision(commit: "", files: [:])
        repository = first
        commit = rev.commit
        files = rev.files
        try start()
    }

    deinit { stop() }

    // MARK: knobs and counters

    public var requests: [Request] { lock.lock(); defer { lock.unlock() }; return _requests }
    public func requests(method: String) -> [Request] { requests.filter { $0.method == method } }
    public func resetRequests() { lock.lock(); _requests = []; lock.unlock() }

    /// The next CDN body is cut after this many bytes (once).
    public func cutNextBody(after n: Int) { lock.lock(); _cutAfter = n; lock.unlock() }
    public func serveCorrupted(_ on: Bool) { lock.lock(); _corrupt = on; lock.unlock() }
    public func ignoreRange(_ on: Bool) { lock.lock(); _ignoreRange = on; lock.unlock() }
    public func requireToken(_ token: String?) { lock.lock(); _requiredToken = token; lock.unlock() }
    /// Redirect LFS files to `http://<host>:<port>/cdn/...` (another host name for the same server).
    public func redirectToCDN(host: String?) { lock.lock(); _cdnHost = host; lock.unlock() }
    /// ETags that are neither a SHA-256 nor a git SHA-1, and no X-Linked-Size / Content-Length on HEAD.
    public func serveBadETags(_ on: Bool) { lock.lock(); _badETags = on; lock.unlock() }
    /// Answer every resolve with this X-Repo-Commit instead of the revision's.
    public func overrideCommit(_ commit: String?) { lock.lock(); _commitOverride = commit; lock.unlock() }
    /// Pause this long after each 16 KB of a CDN body.
    public func slowCDN(microsecondsPerChunk: useconds_t) { lock.lock(); _cdnDelay = microsecondsPerChunk; lock.unlock() }

    // MARK: socket plumbing

    private func start() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = UInt16(bigEndian: addr.sin_port)
        listener = fd
        let t = Thread { [weak self] in self?.acceptLoop(fd) }
        t.start()
        thread = t
    }

    public func stop() {
        lock.lock()
        let fd = listener
        listener = -1
        lock.unlock()
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let t = Thread { [weak self] in
                self?.handle(client)
                close(client)
            }
            t.start()
        }
    }

    private func readRequest(_ fd: Int32) -> Request? {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buffer += chunk[0..<n]
            if let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                let text = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                var lines = text.components(separatedBy: "\r\n")
                let first = lines.removeFirst().split(separator: " ")
                guard first.count >= 2 else { return nil }
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                return Request(method: String(first[0]), path: String(first[1]), headers: headers)
            }
        }
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    private func respond(_ fd: Int32, status: Int, reason: String, headers: [(String, String)], body: Data, method: String,
                         cutAfter: Int? = nil, contentLength: Bool = true, delay: useconds_t = 0) {
        var head = "HTTP/1.1 \(status) \(reason)\r\n"
        var all = headers
        if contentLength, !all.contains(where: { $0.0 == "Content-Length" }) { all.append(("Content-Length", "\(body.count)")) }
        all.append(("Connection", "close"))
        for (k, v) in all { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        send(fd, Array(head.utf8))
        guard method != "HEAD" else { return }
        let bytes = Array(cutAfter.map { body.prefix($0) } ?? body)
        if delay == 0 { return send(fd, bytes) }
        var at = 0
        while at < bytes.count {
            let end = min(bytes.count, at + 16_384)
            send(fd, Array(bytes[at..<end]))
            at = end
            usleep(delay)
        }
    }

    // MARK: the hub

    private func handle(_ fd: Int32) {
        guard let req = readRequest(fd) else { return }
        lock.lock()
        _requests.append(req)
        let token = _requiredToken
        let cdnHost = _cdnHost
        lock.unlock()
        if let token, !req.path.hasPrefix("/cdn/"), req.headers["authorization"] != "Bearer \(token)" {
            respond(fd, status: 401, reason: "Unauthorized", headers: [], body: Data("token needed".utf8), method: req.method)
            return
        }
        if let r = req.path.range(of: "/resolve/") {
            let repo = String(req.path[req.path.index(after: req.path.startIndex)..<r.lowerBound])
            let rest = req.path[r.upperBound...]
            guard let revisions = repositories[repo], let slash = rest.firstIndex(of: "/") else { return notFound(fd, req) }
            let revName = String(rest[..<slash]).removingPercentEncoding ?? ""
            let path = String(rest[rest.index(after: slash)...]).removingPercentEncoding ?? ""
            guard let rev = revisions[revName] ?? revisions.values.first(where: { $0.commit == revName }),
                  let file = rev.files[path] else { return notFound(fd, req) }
            lock.lock()
            let bad = _badETags
            let commit = _commitOverride ?? rev.commit
            lock.unlock()
            if file.lfs {
                let location = (cdnHost.map { "http://\($0):\(port)" } ?? "") + "/cdn/\(file.sha256)"
                let meta = bad ? [("ETag", "\"lfs-\(file.content.count % 97)\"")]
                    : [("ETag", "\"\(file.gitSHA1)\""), ("X-Linked-Etag", "\"\(file.sha256)\""), ("X-Linked-Size", "\(file.content.count)")]
                respond(fd, status: 302, reason: "Found", headers: [("X-Repo-Commit", commit)] + meta + [("Location", location)],
                        body: Data(), method: req.method)
            } else {
                respond(fd, status: 200, reason: "OK",
                        headers: [("X-Repo-Commit", commit), ("ETag", bad ? "W/\"1f-weak\"" : "W/\"\(file.gitSHA1)\"")],
                        body: file.content, method: req.method, contentLength: !(bad && req.method == "HEAD"))
            }
            return
        }
        if req.path.hasPrefix("/cdn/") {
            let sha = String(req.path.dropFirst(5))
            let all = repositories.values.flatMap { $0.values.flatMap { $0.files.values } }
            guard var content = all.first(where: { $0.lfs && $0.sha256 == sha })?.content else { return notFound(fd, req) }
            lock.lock()
            let corrupt = _corrupt, ignore = _ignoreRange, delay = _cdnDelay
            let cut = req.method == "GET" ? _cutAfter : nil
            if req.method == "GET" { _cutAfter = nil }
            lock.unlock()
            if corrupt, !content.isEmpty { content[content.count / 2] ^= 0xFF }
            if !ignore, let range = req.headers["range"], range.hasPrefix("bytes="), range.hasSuffix("-"),
               let start = Int(range.dropFirst(6).dropLast()) {
                guard start < content.count else {
                    return respond(fd, status: 416, reason: "Range Not Satisfiable", headers: [], body: Data(), method: req.method)
                }
                respond(fd, status: 206, reason: "Partial Content",
                        headers: [("Content-Range", "bytes \(start)-\(content.count - 1)/\(content.count)")],
                        body: content.subdata(in: start..<content.count), method: req.method, cutAfter: cut, delay: delay)
            } else {
                respond(fd, status: 200, reason: "OK", headers: [], body: content, method: req.method, cutAfter: cut, delay: delay)
            }
            return
        }
        notFound(fd, req)
    }

    private func notFound(_ fd: Int32, _ req: Request) {
        respond(fd, status: 404, reason: "Not Found", headers: [("X-Error-Code", "EntryNotFound")], body: Data("not found".utf8),
                method: req.method)
    }
}
