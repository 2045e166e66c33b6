import Foundation

/// Writes to standard error; progress lines are redrawn in place only on a terminal.
enum Terminal {
    static let stderrIsTTY = isatty(STDERR_FILENO) == 1

    static func error(_ line: String) {
        FileHandle.standardError.write(Data(("svia: " + line + "\n").utf8))
    }

    static func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Replaces the current status line (terminal only).
    static func status(_ line: String) {
        guard stderrIsTTY else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
    }

    static func clearStatus() {
        guard stderrIsTTY else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "--:--" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60)
                         : String(format: "%02d:%02d", t / 60, t % 60)
    }
}

/// Per-file and overall progress with an ETA, drawn on stderr.
final class ProgressView {
    let totalFiles: Int
    let quiet: Bool
    let start = Date()
    var fileIndex = 0
    var fileName = ""
    var fileStart = Date()
    var lastDraw = Date.distantPast

    init(totalFiles: Int, quiet: Bool) {
        self.totalFiles = totalFiles
        self.quiet = quiet
    }

    func startFile(_ index: Int, name: String) {
        fileIndex = index
        fileName = name
        fileStart = Date()
        draw(done: 0, expected: nil, force: true)
    }

    func draw(done: Int, expected: Int?, force: Bool = false) {
        guard !quiet, Terminal.stderrIsTTY else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) > 0.2 else { return }
        lastDraw = now
        var line = "[\(fileIndex + 1)/\(totalFiles)] \(fileName)"
        if let expected, expected > 0 {
            let frac = min(1, Double(done) / Double(expected))
            let elapsed = now.timeIntervalSince(fileStart)
            let eta = frac > 0 ? elapsed * (1 - frac) / frac : .nan
            line += String(format: "  %3.0f%%  frame %d/%d  ETA %@", frac * 100, done, expected, Terminal.duration(eta))
        } else if done > 0 {
            line += "  frame \(done)"
        }
        let overallElapsed = now.timeIntervalSince(start)
        if fileIndex > 0 {
            let perFile = overallElapsed / Double(fileIndex)
            line += "  | all: ETA " + Terminal.duration(perFile * Double(totalFiles - fileIndex))
        }
        Terminal.status(line)
    }

    func finish() { if !quiet { Terminal.clearStatus() } }
}
