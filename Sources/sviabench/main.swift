// Release-build benchmark driver: `sviabench AREA [options]`, one JSON object per line on stdout.
// Scripts/bench.sh builds it and runs Scripts/bench/AREA.sh, which adds the reference measurements.
// One file per area (IOBench.swift, EngineBench.swift, SegmenterBench.swift, DetectorBench.swift,
// DiffusionBench.swift).
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let rest = Array(arguments.dropFirst())
do {
    switch arguments.first {
    case "io": try IOBench.run(rest)
    case "engine": EngineBench.run(rest)
    case "segmenter": try SegmenterBench.run(rest)
    case "detectors": try DetectorBench.run(rest)
    case "diffusion": try DiffusionBench.run(rest)
    default:
        FileHandle.standardError.write(Data("usage: sviabench AREA [options]; areas: io, engine, segmenter, detectors, diffusion\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("sviabench: \(error)\n".utf8))
    exit(1)
}
