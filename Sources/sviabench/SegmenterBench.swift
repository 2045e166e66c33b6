import Foundation
import Networks
import TensorCore

/// `sviabench segmenter --model DIR --height H --width W --case NAME [--ref NAME=SECONDS]...`
/// Times `SegFormer.logits` on one random [1, 3, H, W] input (median of 3 after one warm-up) and prints one line per
/// reference timing given (or one line without a reference).
enum SegmenterBench {
    static func run(_ arguments: [String]) throws {
        var model: String?, height = 512, width = 1024, caseName = "segformer"
        var refs: [(String, Double)] = []
        var i = 0
        func value() -> String {
            i += 1
            guard i < arguments.count else { fail("missing value after \(arguments[i - 1])") }
            return arguments[i]
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--model": model = value()
            case "--height": height = Int(value()) ?? height
            case "--width": width = Int(value()) ?? width
            case "--case": caseName = value()
            case "--ref":
                let parts = value().split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let s = Double(parts[1]) else { fail("--ref takes NAME=SECONDS") }
                refs.append((parts[0], s))
            default: fail("unknown option \(arguments[i])")
            }
            i += 1
        }
        guard let model else { fail("--model DIR is required") }
        let segformer = try SegFormer(directory: model)
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        let pixels = Tensor(shape: [1, 3, height, width]) { buf in
            for j in buf.indices {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                buf[j] = Float(Int64(bitPattern: state >> 11) % 4000) / 1000 - 2
            }
        }
        var sink: Float = 0
        let seconds = Measure.median { sink += segformer.logits(pixels).scalars[0] }
        let extra = [("threads", "\(ThreadPool.workers)"), ("checksum_ok", sink.isFinite ? "true" : "false")]
        if refs.isEmpty {
            BenchLine(area: "segmenter", caseName: caseName, sviaSeconds: seconds, extra: extra).emit()
        }
        for (name, s) in refs {
            BenchLine(area: "segmenter", caseName: caseName, sviaSeconds: seconds, ref: name, refSeconds: s, extra: extra).emit()
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("sviabench segmenter: \(message)\n".utf8))
        exit(2)
    }
}
