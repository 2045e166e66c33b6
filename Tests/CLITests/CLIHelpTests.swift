import Foundation
import MediaIO
import Testing

/// Runs the built `svia` binary, as a user would.
enum CLI {
    static var binary: URL {
        // Test bundles live in .build/<config>/ beside the executable.
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("svia")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("svia")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The process was killed by a signal (`status` is then the signal number).
        var signaled = false
    }

    static func run(_ args: [String], environment: [String: String]? = nil, in directory: String? = nil,
                    binary: URL = CLI.binary) throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self), signaled: p.terminationReason == .uncaughtSignal)
    }
}

@Suite struct CLIHelpTests {
    @Test func versionPrints() throws {
        let r = try CLI.run(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("0.1.0"))
    }

    /// One set of exit statuses: ArgumentParser's own usage errors exit 2 like svia's, and --help lists them.
    @Test func usageErrorsExitTwoAndHelpDocumentsTheStatuses() throws {
        for args in [["anonymize", "--no-such-option", "x.png"], ["anonymize"], ["anonymize", "x.png", "--crf", "99"],
                     ["anonymize", "x.png", "--method", "nope"], ["no-such-command"], ["keyframes"]] {
            let r = try CLI.run(args)
            #expect(r.status == 2, "\(args): \(r.status) \(r.stderr)")
            #expect(!r.stderr.isEmpty)
        }
        let help = try CLI.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Exit status: 0 done; 1 a file"), "\(help.stdout)")
        #expect(try CLI.run(["anonymize", "--help"]).status == 0)
    }

    /// A report that would overwrite an input is refused before any work (usage error).
    @Test func reportOverAnInputIsRefused() throws {
        let s = try Scratch()
        try StillImage.write(texture(width: 64, height: 48), to: s.file("in.png"))
        let before = try Data(contentsOf: URL(fileURLWithPath: s.file("in.png")))
        let r = try CLI.run(["anonymize", s.file("in.png"), "--method", "blur", "--detect", "none",
                             "-o", s.file("out.png"), "--report", s.file("in.png"), "-q"])
        #expect(r.status == 2, "\(r.status): \(r.stderr)")
        #expect(r.stderr.contains("--report"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: s.file("in.png"))) == before)
        #expect(!FileManager.default.fileExists(atPath: s.file("out.png")))
        // The same through a symlink, and a report over the output.
        try FileManager.default.createSymbolicLink(atPath: s.file("link.png"), withDestinationPath: s.file("in.png"))
        for report in [s.file("link.png"), s.file("out.png")] {
            let again = try CLI.run(["anonymize", s.file("in.png"), "--method", "blur", "--detect", "none", "-o", s.file("out.png"),
                                     "--report", report, "-q"])
            #expect(again.status == 2 && again.stderr.contains("--report"), "\(again.status): \(again.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: s.file("in.png"))) == before)
    }
}
