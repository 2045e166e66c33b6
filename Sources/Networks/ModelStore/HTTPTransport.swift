// Blocking HTTP over URLSession for the model store: HEAD without following redirects (the hub's metadata is on
// the first response), and GET streamed into a file, following redirects to the CDN.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct HTTPResponse {
    var status: Int
    /// Header names lowercased.
    var headers: [String: String]

    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

enum HTTPTransportError: Error {
    case transport(String)
    case aborted(String)
}

/// Per-request state shared between the caller and the session's delegate queue.
private final class RequestState: @unchecked Sendable {
    let lock = NSLock()
    let done = DispatchSemaphore(value: 0)
    /// Called once with the final response; returning false cancels the request.
    let onResponse: (HTTPResponse) -> Bool
    /// Called with each piece of the body; returning false cancels the request.
    let onData: (Data) -> Bool
    var response: HTTPResponse?
    var error: Error?

    init(onResponse: @escaping (HTTPResponse) -> Bool, onData: @escaping (Data) -> Bool) {
        self.onResponse = onResponse
        self.onData = onData
    }
}

private final class SessionDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var states: [Int: RequestState] = [:]

    func register(_ task: URLSessionTask, _ state: RequestState) {
        lock.lock(); defer { lock.unlock() }
        states[task.taskIdentifier] = state
    }

    private func state(_ task: URLSessionTask) -> RequestState? {
        lock.lock(); defer { lock.unlock() }
        return states[task.taskIdentifier]
    }

    private func remove(_ task: URLSessionTask) -> RequestState? {
        lock.lock(); defer { lock.unlock() }
        return states.removeValue(forKey: task.taskIdentifier)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        // Redirects are followed by `HTTPTransport.get` itself, which decides which headers go to the next host.
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let s = state(dataTask), let http = response as? HTTPURLResponse else { return completionHandler(.cancel) }
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            if let k = k as? String, let v = v as? String { headers[k.lowercased()] = v }
        }
        let r = HTTPResponse(status: http.statusCode, headers: headers)
        s.lock.lock(); s.response = r; s.lock.unlock()
        completionHandler(s.onResponse(r) ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let s = state(dataTask) else { return }
        if !s.onData(data) { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let s = remove(task) else { return }
        s.lock.lock(); s.error = error; s.lock.unlock()
        s.done.signal()
    }
}

/// One URLSession; every call blocks until its request ends. Safe to use from one thread at a time.
final class HTTPTransport {
    private let delegate = SessionDelegate()
    private let session: URLSession
    let timeout: TimeInterval

    init(timeout: TimeInterval = 60) {
        self.timeout = timeout
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.urlCache = nil
        config.httpCookieStorage = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: config, delegate: delegate, delegateQueue: queue)
    }

    deinit { session.invalidateAndCancel() }

    private func request(_ url: URL, method: String, headers: [String: String]) -> URLRequest {
        var r = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        r.httpMethod = method
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        return r
    }

    /// HEAD without following redirects.
    func head(_ url: URL, headers: [String: String]) throws -> HTTPResponse {
        try run(request(url, method: "HEAD", headers: headers), onResponse: { _ in true }, onData: { _ in true })
    }

    /// GET following up to 10 redirects; the body goes to `onData` after `onResponse` accepted the final
    /// response. The headers (Range included) go along to each hop, except Authorization, which is dropped for good
    /// at the first hop `authorize` refuses (by default: another host or port, or https downgraded to http; the
    /// hub's CDN needs no token and must not see it).
    /// Throws `aborted` when a callback stopped the transfer, `transport` when the connection failed.
    func get(_ url: URL, headers: [String: String], authorize: ((URL) -> Bool)? = nil,
             onResponse: @escaping (HTTPResponse) -> Bool, onData: @escaping (Data) -> Bool) throws -> HTTPResponse {
        let mayAuthorize = authorize ?? { Self.keepsAuthorization(from: url, to: $0) }
        var current = url
        var hopHeaders = headers
        if !mayAuthorize(url) { hopHeaders = hopHeaders.filter { $0.key.lowercased() != "authorization" } }
        for _ in 0...10 {
            var redirect: URL?
            let response = try run(request(current, method: "GET", headers: hopHeaders), onResponse: { r in
                                       if [301, 302, 303, 307, 308].contains(r.status), let loc = r.header("Location") {
                                           redirect = URL(string: loc, relativeTo: current)?.absoluteURL
                                           return redirect != nil
                                       }
                                       return onResponse(r)
                                   },
                                   onData: { data in redirect != nil ? true : onData(data) })
            guard let next = redirect else { return response }
            if !mayAuthorize(next) {
                hopHeaders = hopHeaders.filter { $0.key.lowercased() != "authorization" }
            }
            current = next
        }
        throw HTTPTransportError.transport("more than 10 redirects from \(url.absoluteString)")
    }

    /// The default rule for a redirect hop: the same host and port, and no downgrade from https.
    static func keepsAuthorization(from url: URL, to next: URL) -> Bool {
        next.host == url.host && next.port == url.port
            && !(url.scheme?.lowercased() == "https" && next.scheme?.lowercased() != "https")
    }

    private func run(_ request: URLRequest, onResponse: @escaping (HTTPResponse) -> Bool,
                     onData: @escaping (Data) -> Bool) throws -> HTTPResponse {
        let state = RequestState(onResponse: onResponse, onData: onData)
        let task = session.dataTask(with: request)
        delegate.register(task, state)
        task.resume()
        state.done.wait()
        state.lock.lock(); defer { state.lock.unlock() }
        if let error = state.error {
            let ns = error as NSError
            if ns.domain == NSURLErrorDomain && ns.code == NSURLErrorCancelled, state.response != nil {
                throw HTTPTransportError.aborted("stopped")
            }
            throw HTTPTransportError.transport(error.localizedDescription)
        }
        guard let response = state.response else { throw HTTPTransportError.transport("no response") }
        return response
    }
}
