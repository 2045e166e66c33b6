import Foundation
import MediaIO

/// One unit of a plan or of a resumable run: a still, or a range of a video's frames.
public struct WorkUnit: Sendable {
    public var item: JobItem
    public var segment: Int
    /// Nil for a still.
    public var range: FrameRange?
    /// Frames the range holds (the plan's count; a mismatch fails the unit).
    public var frames: Int
    public var key: String

    public init(item: JobItem, segment: Int, range: FrameRange?, frames: Int, key: String) {
        self.item = item
        self.segment = segment
        self.range = range
        self.frames = frames
        self.key = key
    }
}

extension AnonymizeRunner {
    /// Runs `unit` into its output's `SegmentStore` unless a complete result made for the same key is
    /// there already (then its report comes back with status skipped). A still is written to its
    /// final output; a video range to its own segment file.
    public func runUnit(_ unit: WorkUnit, progress: (ProgressEvent) -> Void = { _ in }) -> SegmentReport {
        let store = SegmentStore(output: unit.item.output)
        if var done = store.complete(unit.segment, key: unit.key) {
            done.report.status = .skipped
            done.report.message = "segment complete"
            return done
        }
        let start = Date()
        var result = SegmentReport(key: unit.key, segment: unit.segment, startFrame: unit.range?.firstIndex ?? 0,
                                   frames: 0, file: nil, bytes: nil,
                                   report: FileReport(input: unit.item.input, output: unit.item.output, kind: unit.item.kind,
                                                      status: .done, seconds: 0))
        do {
            try FileManager.default.createDirectory(atPath: store.folder, withIntermediateDirectories: true)
            // This unit's own partial files, from a run that was killed (on this machine or another).
            PartialFiles.removePartials(of: unit.range == nil ? unit.item.output : store.videoPath(unit.segment))
            if let range = unit.range {
                result.startFrame = unit.range!.firstIndex
                var work = newWork()
                work.clip = painter.map { SVIAClip(settings: $0.settings) }
                var writing = false
                let item = unit.item
                let t = try withoutActuallyEscaping(progress) { progress in
                    try VideoTranscoder.runRange(
                        input: item.input, output: store.videoPath(unit.segment), range: range, options: options.encode,
                        progress: { done, _ in progress(.frame(done: done, expected: unit.frames)) }
                    ) { frame, write in
                        if write && !writing {
                            // Warm-up frames shape the temporal state only; coverage counts what is written.
                            writing = true
                            result.startFrame = frame.index
                            work.coverage = CoverageTally()
                        }
                        let out = try anonymize(frame.image, labelMap: { try labelMap(item, frame: frame.index, image: $0) },
                                                work: &work)
                        if write { try exportMask(work.lastMask, item: item, frame: frame.index) }
                        return out
                    }
                }
                result.frames = t.frames
                result.file = store.videoName(unit.segment)
                let attrs = try FileManager.default.attributesOfItem(atPath: store.videoPath(unit.segment))
                result.bytes = (attrs[.size] as? NSNumber)?.intValue
                result.report.frames = t.frames
                result.report.svia = work.stats
                result.report.categoryCoverage = work.coverage.averages
                if t.frames != unit.frames {
                    try? FileManager.default.removeItem(atPath: store.videoPath(unit.segment))
                    throw PlanError("\(item.input): segment \(unit.segment) decoded \(t.frames) frames where the plan expects \(unit.frames); the file changed since it was planned")
                }
            } else {
                let r = runOne(unit.item, progress: progress)
                if r.status == .failed { throw PlanError(r.message ?? "\(unit.item.input): failed") }
                result.report = r
                result.frames = 1
                let attrs = try FileManager.default.attributesOfItem(atPath: unit.item.output)
                result.bytes = (attrs[.size] as? NSNumber)?.intValue
            }
            result.report.seconds = Date().timeIntervalSince(start)
            try store.write(result, unit.segment)
        } catch {
            result.report.status = .failed
            result.report.message = "\(error)"
            result.report.seconds = Date().timeIntervalSince(start)
        }
        return result
    }

    /// A video (or a part of it, `--start`/`--end`) run in segments that are kept as checkpoints beside the
    /// output: a run that was killed continues from the last complete segment. The segments are joined
    /// into the output by stream copy and removed.
    public func runResumable(_ item: JobItem, start: Double?, end: Double?, segmentSeconds: Double?,
                             warmupFrames: Int, arguments: [String],
                             progress: (ProgressEvent) -> Void = { _ in }) -> FileReport {
        let began = Date()
        var report = FileReport(input: item.input, output: item.output, kind: item.kind, status: .done, seconds: 0)
        do {
            if options.skipExisting && FileManager.default.fileExists(atPath: item.output) {
                report.status = .skipped
                report.message = "output exists"
                return report
            }
            let t = try VideoTimeline.scan(path: item.input)
            let a = start.map { s in t.pts.indices.first { t.seconds(at: $0) >= s - 1e-9 } ?? t.frameCount } ?? 0
            let b = end.map { e in t.pts.indices.first { t.seconds(at: $0) >= e - 1e-9 } ?? t.frameCount } ?? t.frameCount
            guard a < b else { throw PlanError("\(item.input): no frames between --start and --end") }
            let interval = painter.map { $0.settings.keyframeInterval }
            let starts = segmentSeconds == nil ? [a]
                : ShardPlanner.boundaries(t, pieces: 1, interval: interval, maxSeconds: segmentSeconds, within: a..<b)
            let store = SegmentStore(output: item.output)
            var reports: [SegmentReport] = []
            for (n, s) in starts.enumerated() {
                let e = n + 1 < starts.count ? starts[n + 1] : b
                let w = max(0, s - warmupFrames)
                let range = FrameRange(startPts: t.pts[s], endPts: e < t.frameCount ? t.pts[e] : nil,
                                       warmupFromPts: w < s ? t.pts[w] : nil, firstIndex: w, seeks: w > 0)
                let key = SegmentStore.fingerprint(arguments + [item.input, item.output, String(s), String(e), String(w)])
                let r = runUnit(WorkUnit(item: item, segment: n, range: range, frames: e - s, key: key), progress: progress)
                if r.report.status == .failed { throw PlanError(r.report.message ?? "segment \(n) failed") }
                reports.append(r)
            }
            let joined = try SegmentJoiner.join(segments: starts.indices.map { store.videoPath($0) },
                                                offsets: starts.map { t.pts[$0] }, source: item.input,
                                                output: item.output, options: options.encode,
                                                trim: a > 0 || b < t.frameCount, expectedFrames: reports.map(\.frames))
            report = Self.combine(item, reports.map(\.report), joined: joined)
            store.remove()
        } catch {
            report.status = .failed
            report.message = "\(error)"
        }
        report.seconds = Date().timeIntervalSince(began)
        return report
    }

    /// One file's report from its units' reports and the join.
    public static func combine(_ item: JobItem, _ parts: [FileReport], joined: TranscodeReport?) -> FileReport {
        var r = FileReport(input: item.input, output: item.output, kind: item.kind, status: .done, seconds: 0)
        let frames = parts.reduce(0) { $0 + ($1.frames ?? 0) }
        r.frames = frames
        r.seconds = parts.reduce(0) { $0 + $1.seconds }
        for p in parts {
            let w = Double(p.frames ?? 0) / Double(max(frames, 1))
            for (k, v) in p.categoryCoverage { r.categoryCoverage[k, default: 0] += v * w }
            if let s = p.svia {
                var total = r.svia ?? SVIAStats()
                if total.preset.isEmpty { total.preset = s.preset; total.seeds = s.seeds }
                total.unetEvaluations += s.unetEvaluations
                total.keyframes += s.keyframes
                total.reusedFrames += s.reusedFrames
                for (k, v) in s.inpaintPasses { total.inpaintPasses[k, default: 0] += v }
                for (k, v) in s.stageSeconds { total.stageSeconds[k, default: 0] += v }
                r.svia = total
            }
        }
        if let joined {
            r.droppedStreams = joined.droppedStreams
            r.strippedTags = joined.strippedTags
            r.audio = joined.audio
        } else if let only = parts.first, parts.count == 1 {
            r = only
        }
        return r
    }
}
