import ArgumentParser
import Foundation
import MediaIO

/// How keyframes are chosen, as command-line options (shared with `anonymize --keyframes` later).
struct KeyframeArguments: ParsableArguments {
    @Option(help: "Take one frame every SECONDS instead of the codec's keyframes.")
    var every: Double?
    @Option(help: "Take frames where the picture changes by more than this fraction of full scale (mean luma difference, e.g. 0.1).")
    var scene: Double?

    func validate() throws {
        if every != nil && scene != nil { throw ValidationError("choose either --every or --scene") }
        if let e = every, !(e > 0) { throw ValidationError("--every must be positive") }
        if let s = scene, !(s > 0 && s < 1) { throw ValidationError("--scene must be between 0 and 1") }
    }

    var selection: KeyframeSelection {
        if let every { return .every(seconds: every) }
        if let scene { return .sceneChange(threshold: scene) }
        return .codec
    }
}

struct KeyframesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyframes",
        abstract: "Write a video's keyframes as stills named with their timestamps.",
        discussion: "Files are named NAME_HH-MM-SS.mmm.EXT after the frame's presentation time.")

    @Argument(help: "A video file.")
    var video: String

    @Option(name: .shortAndLong, help: "Folder for the stills (created if needed).")
    var output: String

    @OptionGroup var selection: KeyframeArguments

    @Option(help: "Still format: png or jpg.")
    var format: String = "png"

    @Flag(name: .shortAndLong, help: "No progress output.")
    var quiet = false

    func validate() throws {
        if !["png", "jpg", "jpeg"].contains(format.lowercased()) { throw ValidationError("--format must be png or jpg") }
    }

    func run() throws {
        let stem = ((video as NSString).lastPathComponent as NSString).deletingPathExtension
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let n = try Keyframes.extract(path: video, selection: selection.selection) { frame in
                let name = "\(stem)_\(Keyframes.timestampName(frame.seconds)).\(format.lowercased())"
                let dest = URL(fileURLWithPath: output).appendingPathComponent(name).path
                try StillImage.write(frame.image, to: dest)
                if !quiet { Terminal.status("wrote \(name)") }
            }
            if !quiet {
                Terminal.clearStatus()
                Terminal.note("\(n) keyframes written to \(output)")
            }
        } catch {
            Terminal.clearStatus()
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
    }

}

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "List a file's streams and every privacy-relevant item that anonymize would remove.")

    @Argument(help: "A video or image file.")
    var file: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        do {
            let report = try MediaProbe.probe(path: file)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.description)
            }
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
    }
}
