// A loopback HTTP/1.1 server that serves one tiny model repository the way the Hugging Face hub does:
// `/{repo}/resolve/{rev}/{path}` answers with X-Repo-Commit and ETag; LFS files answer 302 to `/cdn/<sha256>` with
// X-Linked-Etag and X-Linked-Size; the CDN honours `Range: bytes=N-` with 206. Faults on request: cut a body
// after N bytes, serve corrupted bytes, ignore Range, demand a token.
import Foundation
@testable import Networks
#if canImport(Glibc)
import Glibc
#endif

final class TinyHubServer: @unchecked Sendable {
    struct Request: Equatable {
        var method: String
        var path: String
        var headers: [String: String]  // names lowercased
    }

    struct RepoFile {
        var content: Data
        var lfs: Bool
        var sha256: String { SHA256.hex(content) }
        var gitSHA1: String { GitBlobHash.hex(content) }
    }

    let repository: String
    let commit: String
    let files: [String: RepoFile]

    private let lock = NSLock()
    private var _requests: [Request] = []
    private var _cutAfter: Int?
    private var _corrupt = false
    private var _ignoreRange = false
    private var _requiredToken: String?
    private var _cdnHost: String?
    private var listener: Int32 = -1
    private var thread: Thread?
    private(set) var port: UInt16 = 0

    var endpoint: String { "http://127.0.0.1:\(port)" }

    init(repository: String, commit: String, files: [String: RepoFile]) throws {
        self.repository = repository
        self.commit = commit
        self.files = files
        try start()
    }

    deinit { stop() }

    // MARK: knobs and counters

    var requests: [Request] { lock.lock(); defer { lock.unlock() }; return _requests }
    func requests(method: String) -> [Request] { requests.filter { $0.method == method } }
    func resetRequests() { lock.lock(); _requests = []; lock.unlock() }

    /// The next CDN body is cut after this many bytes (once).
    func cutNextBody(after n: Int) { lock.lock(); _cutAfter = n; lock.unlock() }
    func serveCorrupted(_ on: Bool) { lock.lock(); _corrupt = on; lock.unlock() }
    func ignoreRange(_ on: Bool) { lock.lock(); _ignoreRange = on; lock.unlock() }
    func requireToken(_ token: String?) { lock.lock(); _requiredToken = token; lock.unlock() }
    /// Redirect LFS files to `http://<host>:<port>/cdn/...` (another host name for the same server).
    func redirectToCDN(host: String?) { lock.lock(); _cdnHost = host; lock.unlock() }

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

    func stop() {
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
            handle(client)
            close(client)
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
                         cutAfter: Int? = nil) {
        var head = "HTTP/1.1 \(status) \(reason)\r\n"
        var all = headers
        if !all.contains(where: { $0.0 == "Content-Length" }) { all.append(("Content-Length", "\(body.count)")) }
        all.append(("Connection", "close"))
        for (k, v) in all { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        send(fd, Array(head.utf8))
        guard method != "HEAD" else { return }
        if let cutAfter {
            send(fd, Array(body.prefix(cutAfter)))
        } else {
            send(fd, Array(body))
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
        let resolvePrefix = "/\(repository)/resolve/"
        if req.path.hasPrefix(resolvePrefix) {
            let rest = req.path.dropFirst(resolvePrefix.count)
            guard let slash = rest.firstIndex(of: "/") else { return notFound(fd, req) }
            let rev = String(rest[..<slash])
            let path = String(rest[rest.index(after: slash)...]).removingPercentEncoding ?? ""
            guard rev == "main" || rev == commit, let file = files[path] else { return notFound(fd, req) }
            if file.lfs {
                respond(fd, status: 302, reason: "Found", headers: [
                    ("X-Repo-Commit", commit), ("ETag", "\"\(file.gitSHA1)\""), ("X-Linked-Etag", "\"\(file.sha256)\""),
                    ("X-Linked-Size", "\(file.content.count)"), ("Location", (cdnHost.map { "http://\($0):\(port)" } ?? "") + "/cdn/\(file.sha256)"),
                ], body: Data(), method: req.method)
            } else {
                respond(fd, status: 200, reason: "OK", headers: [("X-Repo-Commit", commit), ("ETag", "W/\"\(file.gitSHA1)\"")],
                        body: file.content, method: req.method)
            }
            return
        }
        if req.path.hasPrefix("/cdn/") {
            let sha = String(req.path.dropFirst(5))
            guard var content = files.values.first(where: { $0.lfs && $0.sha256 == sha })?.content else { return notFound(fd, req) }
            lock.lock()
            let corrupt = _corrupt, ignore = _ignoreRange
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
                        body: content.subdata(in: start..<content.count), method: req.method, cutAfter: cut)
            } else {
                respond(fd, status: 200, reason: "OK", headers: [], body: content, method: req.method, cutAfter: cut)
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
