import Foundation
import MediaIO

/// What one unit of work (a video segment, or a still) left behind: written beside its file when the
/// file is complete, so a re-run knows to skip it and `svia merge` knows what to join.
public struct SegmentReport: Codable, Sendable {
    /// Fingerprint of the command line and range that made it (`SegmentStore.fingerprint`).
    public var key: String
    public var segment: Int
    public var startFrame: Int
    public var frames: Int
    /// The segment's video file, in the store's folder (nil for a still: its output is the final file).
    public var file: String?
    public var bytes: Int?
    public var report: FileReport
}

/// The hidden folder beside an output, `.NAME.EXT.svia-segments/`, that holds its segments
/// (`seg-000003.mp4`) and their reports (`seg-000003.json`), each written under a temporary name and
/// renamed into place when complete.
public struct SegmentStore: Sendable {
    public let output: String
    public let folder: String

    public init(output: String) {
        self.output = output
        let u = URL(fileURLWithPath: output)
        folder = u.deletingLastPathComponent().appendingPathComponent("." + u.lastPathComponent + ".svia-segments").path
    }

    public func videoName(_ n: Int) -> String {
        String(format: "seg-%06d.", n) + URL(fileURLWithPath: output).pathExtension
    }

    public func videoPath(_ n: Int) -> String { folder + "/" + videoName(n) }
    public func reportPath(_ n: Int) -> String { folder + "/" + String(format: "seg-%06d.json", n) }

    /// The report of unit `n` when it is complete and was made for `key`: its status is done and its file
    /// is there with the size it had when it was finished.
    public func complete(_ n: Int, key: String) -> SegmentReport? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: reportPath(n))),
              let r = try? JSONDecoder().decode(SegmentReport.self, from: data),
              r.key == key, r.report.status == .done else { return nil }
        let path = r.file.map { folder + "/" + $0 } ?? output
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attrs[.size] as? NSNumber)?.intValue else { return nil }
        if let bytes = r.bytes, bytes != size { return nil }
        return r
    }

    public func write(_ r: SegmentReport, _ n: Int) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicWrite.write(e.encode(r), to: reportPath(n))
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// FNV-1a (64 bit) of the parts, in hex: the same in every process, unlike Swift's `Hasher`.
    public static func fingerprint(_ parts: [String]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for b in part.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 0x1f) &* 0x100_0000_01b3
        }
        return String(format: "%016llx", h)
    }
}

/// A whole file written under a temporary name in its folder, then renamed into place.
public enum AtomicWrite {
    public static func write(_ data: Data, to path: String) throws {
        let u = URL(fileURLWithPath: path).standardizedFileURL
        let tmp = u.deletingLastPathComponent().appendingPathComponent(".\(u.lastPathComponent).\(getpid()).tmp")
        try data.write(to: tmp)
        if rename(tmp.path, u.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw PlanError("\(path): cannot write (\(reason))")
        }
    }
}
