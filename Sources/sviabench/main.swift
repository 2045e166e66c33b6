// Release-build benchmark driver: `sviabench AREA [options]`, one JSON object per line on stdout.
// Scripts/bench.sh runs it beside the reference tools and computes the ratios.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let area = arguments.first else {
    FileHandle.standardError.write(Data("usage: sviabench AREA [options]\n".utf8))
    exit(2)
}
let rest = Array(arguments.dropFirst())
switch area {
case "segmenter":
    do { try SegmenterBench.run(rest) } catch {
        FileHandle.standardError.write(Data("sviabench segmenter: \(error)\n".utf8))
        exit(1)
    }
case "engine":
    EngineBench.run(rest)
default:
    FileHandle.standardError.write(Data("sviabench: unknown area '\(area)'\n".utf8))
    exit(2)
}
