import Foundation

// sviabench AREA ARGS...: one area per file (IOBench.swift, EngineBench.swift, DetectorBench.swift, ...);
// each prints JSON lines.
let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "io": try IOBench.run(Array(arguments.dropFirst()))
    case "engine": EngineBench.run(Array(arguments.dropFirst()))
    case "detectors": try DetectorBench.run(Array(arguments.dropFirst()))
    default:
        FileHandle.standardError.write(Data("usage: sviabench io|engine|detectors ...\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("sviabench: \(error)\n".utf8))
    exit(1)
}
