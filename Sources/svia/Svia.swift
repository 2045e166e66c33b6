import ArgumentParser

@main
struct Svia: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svia",
        abstract: "Anonymize dashcam recordings and street-view images.",
        discussion: """
            svia finds privacy-sensitive regions (people, vehicles, traffic signs, roads, buildings) and \
            replaces them, keeping the video's timing and stripping location metadata and GPS tracks.
            """,
        version: "0.1.0",
        subcommands: [AnonymizeCommand.self, PlanCommand.self, MergeCommand.self, SegmentCommand.self, KeyframesCommand.self, ProbeCommand.self, ModelsCommand.self],
        defaultSubcommand: nil)
}
