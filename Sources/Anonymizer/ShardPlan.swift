import Foundation
import MediaIO

/// Work split for several machines: whole files, and long videos cut into time ranges that start on
/// codec keyframes, spread over `shardCount` shards by estimated cost. Written as plain JSON by
/// `svia plan`; every shard runs its units (`svia anonymize --plan P --shard I`) and `svia merge` joins
/// the segments. The same inputs and options give the same plan, byte for byte.
public struct ShardPlan: Codable, Sendable, Equatable {
    public var format = "svia-plan"
    public var version = 1
    /// The `svia anonymize` command line the plan runs (inputs, `-o`, options), as given.
    public var arguments: [String]
    public var method: String
    public var preset: String?
    public var shardCount: Int
    /// Estimated cost of all files: frames × pixels × the method's factor, in megapixel-frames.
    public var totalCost: Double
    public var files: [File]
    public var shards: [Shard]
    public var skipped: [SkippedFile]

    public struct File: Codable, Sendable, Equatable {
        public var index: Int
        public var input: String
        public var output: String
        public var relativePath: String
        public var kind: JobItem.Kind
        public var labelMaps: String?
        public var width: Int
        public var height: Int
        public var frames: Int
        public var cost: Double
        /// Video stream time base of the segments' timestamps.
        public var timeBase: Rational?
        public var segments: [Segment]

        public var item: JobItem {
            JobItem(input: input, output: output, kind: kind, relativePath: relativePath, labelMaps: labelMaps)
        }
    }

    /// A range of frames `[startFrame, startFrame + frames)`; for a video it starts on a codec keyframe.
    public struct Segment: Codable, Sendable, Equatable {
        public var index: Int
        public var startFrame: Int
        public var frames: Int
        /// Presentation timestamps (the file's `timeBase`): first frame, and first frame after the range.
        public var startPts: Int64?
        public var endPts: Int64?
        public var startSeconds: Double
        public var cost: Double
        public var shard: Int
    }

    public struct Unit: Codable, Sendable, Equatable, Hashable {
        public var file: Int
        public var segment: Int
    }

    public struct Shard: Codable, Sendable, Equatable {
        public var index: Int
        public var cost: Double
        public var units: [Unit]
    }

    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var d = try e.encode(self)
        d.append(0x0A)
        return d
    }

    public static func load(path: String) throws -> ShardPlan {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw PlanError("\(path): cannot read plan (\(error.localizedDescription))")
        }
        let plan: ShardPlan
        do { plan = try JSONDecoder().decode(ShardPlan.self, from: data) } catch {
            throw PlanError("\(path): not a svia plan (\(error))")
        }
        guard plan.format == "svia-plan", plan.version == 1 else {
            throw PlanError("\(path): plan format \(plan.format) version \(plan.version) is not one this svia reads")
        }
        return plan
    }

    /// A fingerprint of what a segment's file must hold: the command line and the range. A segment left
    /// by another plan is not taken for complete.
    public func key(file: File, segment: Segment) -> String {
        SegmentStore.fingerprint(arguments + [file.input, file.output, String(segment.startFrame), String(segment.frames),
                                              String(segment.startPts ?? -1), String(segment.endPts ?? -1)])
    }
}

/// Makes a `ShardPlan`.
public enum ShardPlanner {
    /// Relative cost per pixel of a frame: the baselines are cheap filters; `svia` runs UNet passes
    /// (about its UNet evaluations per frame with reuse).
    public static func costFactor(method: ReplacementMethod, preset: SVIAPreset?) -> Double {
        switch method {
        case .blur: return 1
        case .pixelate: return 0.5
        case .graymask: return 0.25
        case .svia:
            switch preset ?? .default {
            case .paper: return 5000
            case .default: return 250
            case .fast: return 25
            }
        }
    }

    /// - Parameters:
    ///   - keyframeInterval: for `--method svia`, segments start only on codec keyframes whose frame index
    ///     is a multiple of it (the painter's schedule); 0 or nil: any codec keyframe.
    ///   - segmentSeconds: longest segment of a video, in seconds of video (nil: by cost alone).
    public static func plan(items: [JobItem], skipped: [SkippedFile], arguments: [String], shards: Int,
                            method: ReplacementMethod, preset: SVIAPreset?, keyframeInterval: Int?,
                            segmentSeconds: Double?) throws -> ShardPlan {
        precondition(shards >= 1)
        let factor = costFactor(method: method, preset: preset)
        var files: [ShardPlan.File] = []
        var timelines: [VideoTimeline?] = []
        var skipped = skipped
        for item in items {
            let i = files.count
            do {
                switch item.kind {
                case .image:
                    let image = try StillImage.read(path: item.input)
                    let cost = Double(image.width * image.height) / 1e6 * factor
                    files.append(ShardPlan.File(index: i, input: item.input, output: item.output, relativePath: item.relativePath,
                                                kind: .image, labelMaps: item.labelMaps, width: image.width, height: image.height,
                                                frames: 1, cost: cost, timeBase: nil, segments: []))
                    timelines.append(nil)
                case .video:
                    let t = try VideoTimeline.scan(path: item.input)
                    let cost = Double(t.frameCount) * Double(t.width * t.height) / 1e6 * factor
                    files.append(ShardPlan.File(index: i, input: item.input, output: item.output, relativePath: item.relativePath,
                                                kind: .video, labelMaps: item.labelMaps, width: t.width, height: t.height,
                                                frames: t.frameCount, cost: cost, timeBase: t.timeBase, segments: []))
                    timelines.append(t)
                }
            } catch {
                // An unreadable file is left out and named, as a single run goes on past it.
                skipped.append(SkippedFile(path: item.input, reason: "\(error)"))
            }
        }
        let total = files.reduce(0) { $0 + $1.cost }
        // Pieces of about half a shard's share, so that several files still balance.
        let target = total / Double(2 * shards)
        for i in files.indices {
            let f = files[i]
            guard let t = timelines[i] else {
                files[i].segments = [ShardPlan.Segment(index: 0, startFrame: 0, frames: 1, startPts: nil, endPts: nil,
                                                       startSeconds: 0, cost: f.cost, shard: 0)]
                continue
            }
            var pieces = target > 0 ? Int((f.cost / target).rounded(.up)) : 1
            if let s = segmentSeconds, s > 0 {
                pieces = max(pieces, Int((t.seconds(at: t.frameCount) / s).rounded(.up)))
            }
            let starts = boundaries(t, pieces: max(1, pieces), interval: keyframeInterval,
                                    maxSeconds: segmentSeconds)
            files[i].segments = starts.enumerated().map { n, start in
                let end = n + 1 < starts.count ? starts[n + 1] : t.frameCount
                return ShardPlan.Segment(index: n, startFrame: start, frames: end - start, startPts: t.pts[start],
                                         endPts: end < t.frameCount ? t.pts[end] : nil, startSeconds: t.seconds(at: start),
                                         cost: f.cost * Double(end - start) / Double(t.frameCount), shard: 0)
            }
        }
        // Longest-processing-time first: the costliest unit goes to the least loaded shard (ties: lower index).
        var units: [(unit: ShardPlan.Unit, cost: Double)] = []
        for f in files { for s in f.segments { units.append((ShardPlan.Unit(file: f.index, segment: s.index), s.cost)) } }
        let order = units.indices.sorted { (units[$0].cost, -$0) > (units[$1].cost, -$1) }
        var loads = [Double](repeating: 0, count: shards)
        var assigned = [[ShardPlan.Unit]](repeating: [], count: shards)
        for u in order {
            let s = loads.indices.min { (loads[$0], $0) < (loads[$1], $1) }!
            loads[s] += units[u].cost
            assigned[s].append(units[u].unit)
            files[units[u].unit.file].segments[units[u].unit.segment].shard = s
        }
        let shardList = (0..<shards).map { s in
            ShardPlan.Shard(index: s, cost: loads[s], units: assigned[s].sorted { ($0.file, $0.segment) < ($1.file, $1.segment) })
        }
        return ShardPlan(arguments: arguments, method: method.rawValue, preset: method == .svia ? preset?.rawValue : nil,
                         shardCount: shards, totalCost: total, files: files, shards: shardList, skipped: skipped)
    }

    /// First frames of `pieces` ranges of about equal length, each on a codec keyframe (and, with an
    /// interval, on a multiple of it); fewer when there are not enough keyframes. With `maxSeconds`, a
    /// range longer than that is cut at further keyframes where there are some.
    public static func boundaries(_ t: VideoTimeline, pieces: Int, interval: Int?, maxSeconds: Double? = nil,
                                  within range: Range<Int>? = nil) -> [Int] {
        let r = range ?? 0..<t.frameCount
        guard !r.isEmpty else { return [] }
        let candidates = t.keyframes.filter { k in
            k > r.lowerBound && k < r.upperBound && (interval.map { $0 <= 0 || k % $0 == 0 } ?? true)
        }
        var starts = [r.lowerBound]
        if pieces > 1 && !candidates.isEmpty {
            for k in 1..<pieces {
                let ideal = r.lowerBound + r.count * k / pieces
                // Nearest candidate to the ideal cut (ties: the earlier one).
                var lo = 0, hi = candidates.count
                while lo < hi { let m = (lo + hi) / 2; if candidates[m] < ideal { lo = m + 1 } else { hi = m } }
                var best = lo < candidates.count ? candidates[lo] : candidates[candidates.count - 1]
                if lo > 0 && ideal - candidates[lo - 1] <= best - ideal { best = candidates[lo - 1] }
                if best > starts.last! { starts.append(best) }
            }
        }
        if let maxSeconds, maxSeconds > 0 {
            // Split what is still too long at the last candidate within reach.
            var out: [Int] = []
            for (n, s) in starts.enumerated() {
                let end = n + 1 < starts.count ? starts[n + 1] : r.upperBound
                out.append(s)
                var cur = s
                while t.seconds(at: end) - t.seconds(at: cur) > maxSeconds + 1e-9 {
                    guard let next = candidates.last(where: { $0 > cur && $0 < end && t.seconds(at: $0) - t.seconds(at: cur) <= maxSeconds + 1e-9 })
                            ?? candidates.first(where: { $0 > cur && $0 < end }) else { break }
                    out.append(next)
                    cur = next
                }
            }
            starts = out
        }
        return starts
    }
}
