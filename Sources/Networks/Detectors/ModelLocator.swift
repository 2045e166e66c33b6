import Foundation

/// Finds the models that ship with svia: `$SVIA_MODELS_DIR/<file>` when the variable is set (and only
/// there), else `Models/<file>` next to the executable or in one of its parent folders (which also covers
/// a build folder inside a checkout).
public enum ModelLocator {
    public static let environmentVariable = "SVIA_MODELS_DIR"

    /// The path of `file`, or `DetectorError.modelNotFound` naming every place searched.
    public static func path(of file: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            executable: String? = nil) throws -> String {
        let fm = FileManager.default
        if let dir = environment[environmentVariable], !dir.isEmpty {
            let candidate = (dir as NSString).appendingPathComponent(file)
            guard fm.fileExists(atPath: candidate) else {
                throw DetectorError.modelNotFound(file: file, searched: [candidate])
            }
            return candidate
        }
        var searched: [String] = []
        let exe = executable ?? Bundle.main.executablePath ?? CommandLine.arguments.first ?? ""
        var dir = URL(fileURLWithPath: exe).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            for sub in ["Models", "share/svia/Models"] {
                let candidate = dir.appendingPathComponent(sub).appendingPathComponent(file).path
                searched.append(candidate)
                if fm.fileExists(atPath: candidate) { return candidate }
            }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        throw DetectorError.modelNotFound(file: file, searched: searched)
    }
}
