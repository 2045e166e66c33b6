import Anonymizer
import ArgumentParser
import Foundation
import MediaIO

/// `svia anonymize` options for planned shards, checkpoints and time ranges.
struct ScaleArguments: ParsableArguments {
    @Option(help: "Run one shard of a plan made by `svia plan` (inputs, output and options come from the plan).")
    var plan: String?

    @Option(help: "The shard to run: an index from 0, or env to read it from JOB_COMPLETION_INDEX (Kubernetes Indexed Job), SLURM_ARRAY_TASK_ID (Slurm array) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch).")
    var shard: String?

    @Option(help: "Process this many frames before each segment without writing them, so temporal state is warm at its start (default 0: each segment starts with a keyframe).")
    var warmupFrames: Int?

    @Flag(help: "Keep checkpoints of long videos (segments in a hidden folder beside the output) and continue from the last complete one after a kill; existing outputs are kept.")
    var resume = false

    @Option(help: "With --resume: the longest checkpoint segment, in seconds of video (default 60).")
    var segmentSeconds: Double?

    @Option(help: "Process a video from this time (seconds or HH:MM:SS.mmm from its first frame); the output starts at 0.")
    var start: String?

    @Option(help: "Process a video up to this time (seconds or HH:MM:SS.mmm; the frame at it is left out).")
    var end: String?

    @Flag(help: "Parse and check the command line, then exit without reading or writing anything.")
    var validateOnly = false

    func validate(inputs: [String], keyframes: Bool, dryRun: Bool) throws {
        if plan != nil {
            if !inputs.isEmpty { throw ValidationError("--plan takes no inputs: they come from the plan") }
            if shard == nil { throw ValidationError("--plan needs --shard I (or --shard env)") }
            if resume || start != nil || end != nil { throw ValidationError("--plan cannot be combined with --resume, --start or --end") }
            if keyframes || dryRun { throw ValidationError("--plan cannot be combined with --keyframes or --dry-run") }
        } else {
            if inputs.isEmpty { throw ValidationError("give at least one input (or --plan FILE --shard I)") }
            if shard != nil { throw ValidationError("--shard needs --plan FILE") }
        }
        if let shard, shard != "env", Int(shard).map({ $0 < 0 }) ?? true {
            throw ValidationError("--shard takes an index from 0 or env")
        }
        if let w = warmupFrames, !(0...10_000).contains(w) { throw ValidationError("--warmup-frames must be between 0 and 10000") }
        if let s = segmentSeconds, !(s > 0) { throw ValidationError("--segment-seconds must be positive") }
        if segmentSeconds != nil && !resume { throw ValidationError("--segment-seconds needs --resume") }
        if keyframes && (resume || start != nil || end != nil) {
            throw ValidationError("--keyframes cannot be combined with --resume, --start or --end")
        }
        if let a = try startSeconds(), let b = try endSeconds(), b <= a {
            throw ValidationError("--end must come after --start")
        }
    }

    func startSeconds() throws -> Double? { try start.map { try parseTime($0, option: "--start") } }
    func endSeconds() throws -> Double? { try end.map { try parseTime($0, option: "--end") } }
}

/// The command line without what does not change the pictures (progress, the report's path), so that a
/// resumed run with those changed still finds its checkpoints.
func checkpointArguments(_ args: [String]) -> [String] {
    var out: [String] = []
    var skipNext = false
    for a in args {
        if skipNext { skipNext = false; continue }
        if a == "--quiet" || a == "-q" || a.hasPrefix("--report=") { continue }
        if a == "--report" { skipNext = true; continue }
        out.append(a)
    }
    return out
}

/// Seconds (`12.5`) or `HH:MM:SS.mmm` / `MM:SS.mmm`.
func parseTime(_ text: String, option: String) throws -> Double {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
    guard (1...3).contains(parts.count), parts.allSatisfy({ $0 != nil && $0! >= 0 && $0!.isFinite }),
          parts.dropLast().allSatisfy({ $0! == $0!.rounded() }) else {
        throw ValidationError("\(option) takes seconds (12.5) or HH:MM:SS.mmm")
    }
    if parts.count > 1 && parts.last!! >= 60 { throw ValidationError("\(option): seconds must be below 60 in \(text)") }
    return parts.reduce(0) { $0 * 60 + $1! }
}

/// The shard index from `--shard`: a number, or the array index a scheduler puts in the environment.
func shardIndex(_ value: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Int {
    if value != "env" {
        guard let i = Int(value) else { throw ValidationError("--shard takes an index from 0 or env") }
        return i
    }
    for name in ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "AWS_BATCH_JOB_ARRAY_INDEX"] {
        guard let v = environment[name], !v.isEmpty else { continue }
        guard let i = Int(v), i >= 0 else { throw ValidationError("--shard env: \(name)=\(v) is not an index") }
        return i
    }
    throw ValidationError("--shard env: none of JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX is set")
}

extension AnonymizeCommand {
    /// `--plan P --shard I`: runs shard I's units with the plan's options; complete ones are skipped.
    func runPlannedShard(_ path: String) throws {
        let plan: ShardPlan
        let cmd: AnonymizeCommand
        let index: Int
        do {
            index = try shardIndex(scale.shard!)
            plan = try ShardPlan.load(path: path)
            cmd = try AnonymizeCommand.parse(plan.arguments)
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(2)
        }
        guard plan.shards.indices.contains(index) else {
            Terminal.error("shard \(index) is not in \(path) (shards 0-\(plan.shardCount - 1))")
            throw ExitCode(2)
        }
        let units = plan.shards[index].units
        let quiet = self.quiet || cmd.quiet
        if units.isEmpty {
            if !quiet { Terminal.note("shard \(index) of \(plan.shardCount) has no work") }
            return
        }
        // Other shards write into the same folders from other machines, where process ids mean nothing.
        PartialFiles.removeStale = false
        let runner = try cmd.makeRunner(detectors: DetectorChoice(list: cmd.detectList)!)
        let warmup = scale.warmupFrames ?? cmd.scale.warmupFrames ?? 0
        let view = ProgressView(totalFiles: units.count, quiet: quiet)
        var timelines: [Int: VideoTimeline] = [:]
        var failed = 0, skipped = 0
        for (n, u) in units.enumerated() {
            let f = plan.files[u.file], s = f.segments[u.segment]
            view.startFile(n, name: f.kind == .video ? "\(f.relativePath) [\(s.index + 1)/\(f.segments.count)]" : f.relativePath)
            var range: FrameRange? = nil
            if f.kind == .video, let startPts = s.startPts {
                var first = s.startFrame, from: Int64? = nil
                if warmup > 0 && s.startFrame > 0 {
                    if timelines[u.file] == nil { timelines[u.file] = try? VideoTimeline.scan(path: f.input) }
                    if let t = timelines[u.file], t.frameCount == f.frames {
                        first = max(0, s.startFrame - warmup)
                        from = t.pts[first]
                    }
                }
                range = FrameRange(startPts: startPts, endPts: s.endPts, warmupFromPts: from, firstIndex: first, seeks: first > 0)
            }
            let r = runner.runUnit(WorkUnit(item: f.item, segment: s.index, range: range, frames: s.frames,
                                            key: plan.key(file: f, segment: s))) { event in
                if case .frame(let done, let expected) = event { view.draw(done: done, expected: expected) }
            }
            view.finish()
            switch r.report.status {
            case .failed:
                failed += 1
                Terminal.error(r.report.message ?? "\(f.input): segment \(s.index) failed")
            case .skipped: skipped += 1
            case .done:
                if !quiet { Terminal.note("wrote \(f.relativePath) segment \(s.index) (\(r.frames) frames, \(String(format: "%.1f", r.report.seconds)) s)") }
            }
        }
        if !quiet {
            Terminal.note("shard \(index): \(units.count - failed - skipped) units done, \(skipped) already complete" + (failed > 0 ? ", \(failed) failed" : ""))
        }
        if failed > 0 { throw ExitCode(1) }
    }
}

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Split an anonymize job into shards for array jobs (Kubernetes Indexed Job, Slurm, AWS Batch).",
        discussion: """
            Takes the inputs, -o and options of `svia anonymize` and writes a JSON plan: whole files, and long \
            videos cut into time ranges at codec keyframes, spread over --shards by estimated cost. Run each \
            shard with `svia anonymize --plan PLAN --shard I` (or --shard env), then `svia merge PLAN`.
            """)

    @Option(help: "Number of shards (array tasks).")
    var shards: Int

    @Option(help: "Where to write the plan (JSON).")
    var plan: String

    @Option(help: "Longest segment of a video, in seconds of video (default: by cost alone).")
    var maxSegmentSeconds: Double?

    @Flag(help: "Parse and check the command line, then exit without reading or writing anything.")
    var validateOnly = false

    @Argument(parsing: .allUnrecognized, help: "INPUTS... -o OUTPUT and any `svia anonymize` options.")
    var anonymizeArguments: [String] = []

    func validate() throws {
        if !(1...100_000).contains(shards) { throw ValidationError("--shards must be between 1 and 100000") }
        if let s = maxSegmentSeconds, !(s > 0) { throw ValidationError("--max-segment-seconds must be positive") }
        let cmd = try AnonymizeCommand.parse(anonymizeArguments)
        if cmd.scale.plan != nil || cmd.scale.resume || cmd.scale.start != nil || cmd.scale.end != nil {
            throw ValidationError("a plan takes whole videos: leave out --plan, --resume, --start and --end")
        }
        if cmd.keyframes || cmd.dryRun { throw ValidationError("a plan cannot be made for --keyframes or --dry-run") }
        if cmd.output == nil { throw ValidationError("a plan needs -o OUTPUT (on storage every shard can reach)") }
    }

    func run() throws {
        if validateOnly { return }
        let cmd = try AnonymizeCommand.parse(anonymizeArguments)
        do {
            let jobs = try JobPlanner.plan(inputs: cmd.inputs, output: cmd.output, masks: cmd.masks)
            let settings = cmd.method == .svia ? try cmd.diffusion.settings() : nil
            let p = try ShardPlanner.plan(items: jobs.items, skipped: jobs.skipped, arguments: anonymizeArguments, shards: shards,
                                          method: cmd.method, preset: settings?.preset,
                                          keyframeInterval: settings.map { $0.reuse ? $0.keyframeInterval : 0 },
                                          segmentSeconds: maxSegmentSeconds)
            try AtomicWrite.write(p.encoded(), to: plan)
            let unreadable = p.skipped.filter { s in !jobs.skipped.contains(s) }
            for s in unreadable { Terminal.error("\(s.reason) (left out of the plan)") }
            if !cmd.quiet {
                let segments = p.files.reduce(0) { $0 + ($1.kind == .video ? $1.segments.count : 0) }
                Terminal.note("\(plan): \(p.files.count) files (\(segments) video segments) in \(shards) shards")
                for s in p.shards {
                    Terminal.note(String(format: "  shard %d: %d units, cost %.1f", s.index, s.units.count, s.cost))
                }
            }
            if !unreadable.isEmpty { throw ExitCode(1) }
        } catch let e as ExitCode {
            throw e
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
    }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join a plan's segments into the final videos and write the final report.",
        discussion: """
            Every unit of the plan must be complete; otherwise nothing is written and each missing or \
            incomplete segment is named. Videos are joined by stream copy (audio, when kept, is carried once \
            from the source). The report goes to --report, else the plan's --report, else PLAN.report.json.
            """)

    @Argument(help: "The plan made by `svia plan`.")
    var plan: String

    @Option(help: "Where to write the final report (JSON).")
    var report: String?

    @Flag(help: "Leave the segment folders in place after a successful merge.")
    var keepSegments = false

    @Flag(help: "Parse and check the command line, then exit without reading or writing anything.")
    var validateOnly = false

    @Flag(name: .shortAndLong, help: "No progress output.")
    var quiet = false

    func run() throws {
        if validateOnly { return }
        let p: ShardPlan
        let cmd: AnonymizeCommand
        do {
            p = try ShardPlan.load(path: plan)
            cmd = try AnonymizeCommand.parse(p.arguments)
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(2)
        }
        let result: MergeReport
        do {
            result = try PlanMerger.merge(p, options: cmd.encode.options, version: Svia.configuration.version,
                                          keepSegments: keepSegments) { output in
                if !quiet { Terminal.note("joining \(output)") }
            }
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
        let path = report ?? cmd.report ?? ((plan as NSString).deletingPathExtension + ".report.json")
        do {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try AtomicWrite.write(e.encode(result), to: path)
        } catch {
            Terminal.error("\(path): cannot write report: \(error)")
            throw ExitCode(1)
        }
        if !quiet {
            Terminal.note(String(format: "merged %d files (%d frames, %d segments); shards %.1f s, merge %.1f s; report ",
                                 result.totals.files, result.totals.frames, result.totals.segments,
                                 result.totals.shardSeconds, result.totals.mergeSeconds) + path)
        }
    }
}
