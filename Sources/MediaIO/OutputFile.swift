import Foundation

/// An output written under a temporary name in the destination folder and renamed into place only when
/// complete, so that a reader never sees a half-written file. Until `commit()`, `deinit` removes it.
final class OutputFile {
    let finalPath: String
    let tempPath: String
    private var committed = false

    init(path: String, inputs: [String] = []) throws {
        finalPath = path
        for input in inputs where OutputFile.sameFile(input, path) {
            throw MediaError.outputIsInput(path: path)
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw MediaError.isDirectory(path: path)
        }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let ext = url.pathExtension
        let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        tempPath = dir + "/." + url.deletingPathExtension().lastPathComponent
            + ".svia-partial-\(getpid())-\(token)" + (ext.isEmpty ? "" : "." + ext)
    }

    func commit() throws {
        if rename(tempPath, finalPath) != 0 {
            let err = errno
            throw FFmpegError(code: -err, operation: "rename finished output into place", path: finalPath)
        }
        committed = true
    }

    func discard() {
        if !committed { unlink(tempPath) }
    }

    deinit { discard() }

    /// True when both paths name one file (symlinks and hard links included), or resolve to one path.
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        if stat(a, &sa) == 0, stat(b, &sb) == 0 { return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino }
        let ra = URL(fileURLWithPath: a).resolvingSymlinksInPath().standardizedFileURL.path
        let rb = URL(fileURLWithPath: b).resolvingSymlinksInPath().standardizedFileURL.path
        return ra == rb
    }
}
