import ArgumentParser

@main
struct Svia: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svia",
        abstract: "Anonymize dashcam recordings and street-view images.",
        version: "0.1.0")
}
