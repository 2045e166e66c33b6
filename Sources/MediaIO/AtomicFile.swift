import Foundation
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// Writes a whole file under a temporary name in the same folder, then renames it into place (rename(2)
/// replaces an existing file atomically, and replaces a symlink at the target rather than following it).
/// The temporary file is created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW) under an unpredictable name, so
/// a file or symlink planted in the folder beforehand is never written through.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public static func write(_ data: Data, to path: String) throws {
        let absolute = URL(fileURLWithPath: path).absoluteURL.standardizedFileURL
        let folder = absolute.deletingLastPathComponent().path
        var fd: Int32 = -1
        var tmp = ""
        for _ in 0..<16 {
            let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            tmp = folder + "/." + absolute.lastPathComponent + "." + token + ".tmp"
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw WriteError(path: path, reason: "cannot create a temporary file: \(String(cString: strerror(errno)))") }
        var failure: String?
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let n = systemWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil, rename(tmp, absolute.path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(tmp)
            throw WriteError(path: path, reason: failure)
        }
    }

    /// True when both paths name one existing file (symlinks and hard links included).
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else {
            let ra = URL(fileURLWithPath: a).resolvingSymlinksInPath().standardizedFileURL.path
            let rb = URL(fileURLWithPath: b).resolvingSymlinksInPath().standardizedFileURL.path
            return ra == rb
        }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
