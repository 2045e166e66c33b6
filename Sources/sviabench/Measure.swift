import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Timing and memory helpers shared by the benchmark areas.
enum Measure {
    /// Wall-clock seconds of `body`.
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        var t0 = timespec(), t1 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t0)
        try body()
        clock_gettime(CLOCK_MONOTONIC, &t1)
        return Double(t1.tv_sec - t0.tv_sec) + Double(t1.tv_nsec - t0.tv_nsec) * 1e-9
    }

    /// Median of `runs` timings after `warmup` untimed runs.
    static func median(runs: Int = 3, warmup: Int = 1, _ body: () throws -> Void) rethrows -> Double {
        for _ in 0..<warmup { try body() }
        var times: [Double] = []
        for _ in 0..<max(1, runs) { times.append(try seconds(body)) }
        times.sort()
        return times[times.count / 2]
    }

    /// Peak resident set size of this process so far, in MiB.
    static var peakRSSMiB: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Current resident set size in MiB (from /proc/self/statm).
    static var currentRSSMiB: Double {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = s.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }
}

/// One benchmark result line: `{"area","case","svia_s","ref","ref_s","ratio","peak_rss_mb"}` plus extras.
struct BenchLine {
    var area: String
    var caseName: String
    var sviaSeconds: Double
    var ref: String? = nil
    var refSeconds: Double? = nil
    var peakRSSMiB: Double = Measure.peakRSSMiB
    var extra: [(String, String)] = []

    func emit() {
        func num(_ x: Double?) -> String {
            guard let x, x.isFinite else { return "null" }
            return String(format: "%.4f", x)
        }
        let ratio = refSeconds.map { $0 / sviaSeconds }
        var fields = [
            "\"area\":\"\(area)\"", "\"case\":\"\(caseName)\"", "\"svia_s\":\(num(sviaSeconds))",
            "\"ref\":\(ref.map { "\"\($0)\"" } ?? "null")", "\"ref_s\":\(num(refSeconds))",
            "\"ratio\":\(num(ratio))", "\"peak_rss_mb\":\(num(peakRSSMiB))",
        ]
        fields += extra.map { "\"\($0.0)\":\($0.1)" }
        // Unbuffered, so each line reaches a pipe as soon as its case finishes.
        FileHandle.standardOutput.write(Data(("{" + fields.joined(separator: ",") + "}\n").utf8))
    }
}
