import Foundation
import Testing
@testable import MediaIO

/// Whole-file writes: exclusive temporary files that never write through a planted symlink.
@Suite struct AtomicFileTests {
    static func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "svia-atomic-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func writesAndReplaces() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/r.json"
        try AtomicFile.write(Data("one".utf8), to: target)
        try AtomicFile.write(Data("two".utf8), to: target)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "two")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["r.json"])
    }

    @Test func plantedSymlinksAreNotWrittenThrough() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let victim = dir + "/victim.txt"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: victim))
        // Symlinks at the temporary names a pid-based scheme would pick, for this process and its neighbours.
        let pid = Int(getpid())
        for p in max(1, pid - 4)...(pid + 4) {
            try FileManager.default.createSymbolicLink(atPath: dir + "/.r.json.\(p).tmp", withDestinationPath: victim)
        }
        try AtomicFile.write(Data("report".utf8), to: dir + "/r.json")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep")
        #expect(try String(contentsOfFile: dir + "/r.json", encoding: .utf8) == "report")
        // A symlink at the target itself is replaced, not followed.
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.json", withDestinationPath: victim)
        try AtomicFile.write(Data("new".utf8), to: dir + "/link.json")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link.json")) == nil)
        #expect(try String(contentsOfFile: dir + "/link.json", encoding: .utf8) == "new")
    }

    @Test func unwritableFolderIsAnError() throws {
        #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.write(Data(), to: "/nonexistent-svia-dir/r.json") }
        #expect(AtomicFile.sameFile("/etc/hostname", "/etc/../etc/hostname"))
    }
}
