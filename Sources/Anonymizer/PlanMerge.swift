import Foundation
import MediaIO

/// The final report of a plan's run, written by `svia merge`.
public struct MergeReport: Codable, Sendable {
    public struct Totals: Codable, Sendable {
        public var files: Int
        public var frames: Int
        public var segments: Int
        /// Seconds the shards spent on all units (each unit's own time, summed).
        public var shardSeconds: Double
        public var mergeSeconds: Double
    }
    public var version: String
    public var method: String
    public var preset: String?
    public var shards: Int
    public var files: [FileReport]
    public var skipped: [SkippedFile]
    public var totals: Totals
}

public struct MergeError: Error, CustomStringConvertible {
    /// One line per unit that is absent or incomplete.
    public var missing: [String]
    public var description: String {
        "cannot merge: \(missing.count) unit\(missing.count == 1 ? "" : "s") missing or incomplete:\n"
            + missing.map { "  " + $0 }.joined(separator: "\n")
    }
}

public enum PlanMerger {
    /// Each unit's report, when every unit of the plan is complete; otherwise a `MergeError` naming each
    /// one that is not (file, segment, frames, shard, and where its segment should be).
    public static func collect(_ plan: ShardPlan) throws -> [[SegmentReport]] {
        var missing: [String] = []
        var out: [[SegmentReport]] = []
        for f in plan.files {
            let store = SegmentStore(output: f.output)
            var reports: [SegmentReport] = []
            for s in f.segments {
                if let r = store.complete(s.index, key: plan.key(file: f, segment: s)) {
                    reports.append(r)
                    continue
                }
                let what = f.kind == .image
                    ? "\(f.input) (still, shard \(s.shard)): \(f.output) or its report \(store.reportPath(s.index)) is missing or incomplete"
                    : "\(f.input) segment \(s.index) (frames \(s.startFrame)-\(s.startFrame + s.frames - 1), from \(String(format: "%.3f", s.startSeconds)) s, shard \(s.shard)): \(store.videoPath(s.index)) is missing or incomplete"
                missing.append(what)
            }
            out.append(reports)
        }
        if !missing.isEmpty { throw MergeError(missing: missing) }
        return out
    }

    /// Joins every video's segments into its output (stream copy; audio and tags from the source per
    /// `options`), removes the segment folders unless `keepSegments`, and returns the final report.
    public static func merge(_ plan: ShardPlan, options: EncodeOptions, version: String, keepSegments: Bool = false,
                             progress: (String) -> Void = { _ in }) throws -> MergeReport {
        let started = Date()
        let units = try collect(plan)
        var files: [FileReport] = []
        var shardSeconds = 0.0
        for (f, reports) in zip(plan.files, units) {
            shardSeconds += reports.reduce(0) { $0 + $1.report.seconds }
            let store = SegmentStore(output: f.output)
            switch f.kind {
            case .image:
                var r = reports[0].report
                r.status = .done
                r.message = nil
                files.append(r)
            case .video:
                progress(f.output)
                let joined = try SegmentJoiner.join(segments: f.segments.map { store.videoPath($0.index) },
                                                    offsets: f.segments.map { $0.startPts ?? 0 }, source: f.input,
                                                    output: f.output, options: options, trim: false,
                                                    expectedFrames: reports.map(\.frames))
                var r = AnonymizeRunner.combine(f.item, reports.map(\.report), joined: joined)
                r.expectedFrames = f.frames
                files.append(r)
            }
        }
        if !keepSegments { for f in plan.files { SegmentStore(output: f.output).remove() } }
        let frames = files.reduce(0) { $0 + ($1.frames ?? 0) }
        return MergeReport(version: version, method: plan.method, preset: plan.preset, shards: plan.shardCount, files: files,
                           skipped: plan.skipped,
                           totals: .init(files: files.count, frames: frames, segments: units.reduce(0) { $0 + $1.count },
                                         shardSeconds: shardSeconds, mergeSeconds: Date().timeIntervalSince(started)))
    }
}
