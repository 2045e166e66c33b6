import Foundation
import Testing
@testable import MediaIO

@Suite struct MemoryTests {
    static func residentMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }

    /// 300 frames of 640x360 would hold about 200 MB as RGB if anything buffered the video; streaming
    /// keeps growth after the first second to encoder lookahead noise. Other suites run alongside, so
    /// the bound is loose; Scripts/bench/io.sh measures the long 1080p case in its own process.
    @Test func transcodeMemoryStaysFlat() throws {
        let dir = try TestDir()
        let input = try dir.clip("long.mp4", source: "testsrc2=size=640x360:rate=25", seconds: 12)
        var early = 0.0, late = 0.0
        let report = try VideoTranscoder.run(input: input, output: dir.file("out.mp4"),
                                             options: EncodeOptions(preset: "ultrafast"), progress: { done, _ in
            if done == 40 { early = Self.residentMB() }
            if done == 300 { late = Self.residentMB() }
        }) { $0.image }
        #expect(report.frames == 300)
        #expect(early > 0 && late - early < 60, "RSS \(early) MB at frame 40, \(late) MB at frame 300")
    }
}
