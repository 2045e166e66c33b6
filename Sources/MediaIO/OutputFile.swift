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
        OutputFile.removeStalePartials(in: dir)
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

    /// Partial outputs older than this are removed even when their pid is taken by another process.
    static let stalePartialAge: TimeInterval = 24 * 3600

    private static let cleanedLock = NSLock()
    nonisolated(unsafe) private static var cleanedFolders = Set<String>()

    /// Removes partial outputs that a killed svia left in `dir` (once per folder and process): hidden files
    /// named `.<name>.svia-partial-<pid>-<token>[.ext]` whose process is gone, or that have not been
    /// written to for a day. Nothing else is touched.
    static func removeStalePartials(in dir: String, now: Date = Date()) {
        guard PartialFiles.removeStale else { return }
        cleanedLock.lock()
        let first = cleanedFolders.insert(dir).inserted
        cleanedLock.unlock()
        guard first, let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names {
            guard let pid = partialOwner(name) else { continue }
            let path = dir + "/" + name
            guard let attrs = try? FileManager.default.attributesOfItem(atPath: path),
                  attrs[.type] as? FileAttributeType == .typeRegular else { continue }
            let gone = pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
            let age = now.timeIntervalSince((attrs[.modificationDate] as? Date) ?? now)
            if gone || age > stalePartialAge { unlink(path) }
        }
    }

    /// The pid in a partial output's name, or nil when the name is not one svia writes.
    static func partialOwner(_ name: String) -> pid_t? {
        guard name.hasPrefix("."), let r = name.range(of: ".svia-partial-", options: .backwards) else { return nil }
        let rest = name[r.upperBound...]
        let fields = rest.split(separator: "-", maxSplits: 1)
        guard fields.count == 2, let pid = pid_t(fields[0]), pid > 0 else { return nil }
        let tail = fields[1].split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let token = tail.first, !token.isEmpty,
              token.allSatisfy({ ("0"..."9").contains($0) || ("a"..."z").contains($0) }) else { return nil }
        if tail.count == 2 && (tail[1].isEmpty || tail[1].contains(".")) { return nil }
        return pid
    }
}

/// Partial outputs (`.<name>.svia-partial-<pid>-<token>[.ext]`) that killed svia processes leave behind.
public enum PartialFiles {
    /// Whether a writer removes, in its folder, partial files whose process is gone. A process id means
    /// nothing on another machine: a process that shares folders with svia processes elsewhere (a shard of
    /// a plan) turns this off and removes only the partials of files it owns (`removePartials(of:)`).
    nonisolated(unsafe) public static var removeStale = true

    /// Removes every partial file of `path`, whichever process wrote it.
    public static func removePartials(of path: String) {
        let u = URL(fileURLWithPath: path)
        let dir = u.deletingLastPathComponent().path
        let prefix = "." + u.deletingPathExtension().lastPathComponent + ".svia-partial-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where name.hasPrefix(prefix) && OutputFile.partialOwner(name) != nil {
            unlink(dir + "/" + name)
        }
    }
}
