import CFFmpeg

/// An error from an FFmpeg call, with the operation and file it concerns.
public struct FFmpegError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let operation: String
    public let path: String?

    public init(code: Int32, operation: String, path: String? = nil) {
        self.code = code
        self.operation = operation
        self.path = path
    }

    public static let endOfFile: Int32 = svia_averror_eof()
    public static let tryAgain: Int32 = svia_averror_eagain()
    public static let invalidData: Int32 = svia_averror_invaliddata()

    /// FFmpeg's text for an error code (`av_strerror`).
    public static func message(for code: Int32) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { buf in
            av_strerror(code, buf.baseAddress, buf.count) < 0
                ? "unknown error \(code)" : String(cString: buf.baseAddress!)
        }
    }

    public var description: String {
        let what = "\(operation): \(FFmpegError.message(for: code))"
        return path.map { "\($0): \(what)" } ?? what
    }
}

/// Throws `FFmpegError` when an FFmpeg call returns a negative code.
@discardableResult
@inline(__always)
func check(_ result: Int32, _ operation: @autoclosure () -> String, path: String? = nil) throws -> Int32 {
    if result < 0 { throw FFmpegError(code: result, operation: operation(), path: path) }
    return result
}
