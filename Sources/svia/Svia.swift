import ArgumentParser
import Foundation

@main
struct Svia: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svia",
        abstract: "Anonymize dashcam recordings and street-view images.",
        discussion: """
            svia finds privacy-sensitive regions (people, vehicles, traffic signs, roads, buildings) and \
            replaces them, keeping the video's timing and stripping location metadata and GPS tracks.

            Exit status: \(SviaExit.summary)
            """,
        version: "0.1.0",
        subcommands: [AnonymizeCommand.self, PlanCommand.self, MergeCommand.self, SegmentCommand.self, KeyframesCommand.self, ProbeCommand.self, ModelsCommand.self],
        defaultSubcommand: nil)

    /// Like ArgumentParser's `main`, but usage errors (unknown options, bad values, failed validation)
    /// exit with svia's usage status instead of the parser's 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(SviaExit.usage.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// The exit statuses of every svia command.
enum SviaExit {
    /// Everything asked for was done.
    static let success = ExitCode.success
    /// At least one file (an input, an output, a report or a model file) failed; the others were processed.
    static let failed = ExitCode(1)
    /// The command line cannot be run: unknown or invalid options and arguments, or nothing to work with
    /// (a required model or region source is missing). Nothing was written.
    static let usage = ExitCode(2)

    static let summary = "0 done; 1 a file (input, output, report or model) failed, the others were processed; 2 usage error (unknown or invalid options, or a required model or region source missing; nothing written)."
}
