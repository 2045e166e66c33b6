import Foundation
import MediaIO

/// `sviabench io transcode IN OUT [--crf N] [--preset P] [--threads N] [--codec C]`: decode → RGB → encode with
/// an identity transform, printing one JSON object with time, frames and resident memory at 10 % and 90 % of the frames.
/// `sviabench io decode IN`: decode to RGB only.
enum IOBench {
    static func run(_ args: [String]) throws {
        guard args.count >= 2 else { throw BenchError.usage }
        var options = EncodeOptions()
        var i = args[0] == "transcode" ? 3 : 2
        while i + 1 < args.count {
            switch args[i] {
            case "--crf": options.crf = Int(args[i + 1])
            case "--preset": options.preset = args[i + 1]
            case "--threads": options.threads = Int(args[i + 1]) ?? 2
            case "--codec": options.codec = VideoCodecChoice(rawValue: args[i + 1]) ?? .h264
            default: throw BenchError.usage
            }
            i += 2
        }
        var rssAt10: Double? = nil
        var rssAt90: Double? = nil
        let start = Date()
        let frames: Int
        switch args[0] {
        case "transcode":
            guard args.count >= 3 else { throw BenchError.usage }
            let expected = try VideoReader(path: args[1]).info.expectedFrameCount
            let report = try VideoTranscoder.run(input: args[1], output: args[2], options: options, progress: { done, _ in
                if let n = expected, done == max(1, n / 10) { rssAt10 = residentMB() }
                if let n = expected, done == max(1, n * 9 / 10) { rssAt90 = residentMB() }
            }) { $0.image }
            frames = report.frames
        case "decode":
            let reader = try VideoReader(path: args[1])
            let n = reader.info.expectedFrameCount ?? 0
            var count = 0
            while try reader.nextFrame() != nil {
                count += 1
                if count == max(1, n / 10) { rssAt10 = residentMB() }
                if count == max(1, n * 9 / 10) { rssAt90 = residentMB() }
            }
            frames = count
        default:
            throw BenchError.usage
        }
        let seconds = Date().timeIntervalSince(start)
        var fields: [String] = [
            "\"frames\":\(frames)", "\"seconds\":\(fmt(seconds))", "\"fps\":\(fmt(Double(frames) / seconds))",
            "\"peak_rss_mb\":\(fmt(peakMB()))", "\"rss_mb_end\":\(fmt(residentMB()))",
        ]
        if let r = rssAt10 { fields.append("\"rss_mb_10pct\":\(fmt(r))") }
        if let r = rssAt90 { fields.append("\"rss_mb_90pct\":\(fmt(r))") }
        print("{" + fields.joined(separator: ",") + "}")
    }

    enum BenchError: Error, CustomStringConvertible {
        case usage
        var description: String { "usage: sviabench io transcode IN OUT [--crf N --preset P --threads N --codec C] | io decode IN" }
    }

    static func fmt(_ v: Double) -> String { String(format: "%.3f", v) }

    static func peakMB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Current resident set size, from /proc (Linux).
    static func residentMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }
}
