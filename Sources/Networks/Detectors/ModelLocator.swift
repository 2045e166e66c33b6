import Foundation

/// Finds the detector models that ship with svia and checks them against the SHA-256 pinned here, so a
/// planted or damaged file is refused instead of silently detecting nothing.
///
/// Places, in order: `$SVIA_MODELS_DIR/<file>` when the variable is set (and only there); else `Models/`
/// beside the executable, `share/svia/Models/` of the install prefix (`bin/..`), and, for a binary in a
/// SwiftPM build folder (`.build/<triple>/<config>/svia` or `.build/<config>/svia`), the checkout's
/// `Models/`. With `SVIA_MODELS_UNPINNED=1` a file in `$SVIA_MODELS_DIR` that differs from the pin is used
/// (for retrained or test models); the shipped places are always checked.
public enum ModelLocator {
    public static let environmentVariable = "SVIA_MODELS_DIR"
    public static let unpinnedVariable = "SVIA_MODELS_UNPINNED"

    /// SHA-256 of the shipped files (`Models/README.md` lists where they come from).
    public static let pinnedSHA256: [String: String] = [
        "centerface.onnx": "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
        "ch_PP-OCRv4_det_infer.onnx": "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
    ]

    /// The path of `file`, checked against its pinned digest. Throws `DetectorError.modelNotFound` naming
    /// every place searched, or `DetectorError.modelDigestMismatch`.
    public static func path(of file: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            executable: String? = nil) throws -> String {
        let fm = FileManager.default
        if let dir = environment[environmentVariable], !dir.isEmpty {
            let candidate = (dir as NSString).appendingPathComponent(file)
            guard fm.fileExists(atPath: candidate) else {
                throw DetectorError.modelNotFound(file: file, searched: [candidate])
            }
            if environment[unpinnedVariable] != "1" { try verify(candidate, as: file) }
            return candidate
        }
        let exe = executable ?? Bundle.main.executablePath ?? CommandLine.arguments.first ?? ""
        var searched: [String] = []
        for folder in installFolders(executable: exe) {
            let candidate = (folder as NSString).appendingPathComponent(file)
            searched.append(candidate)
            if fm.fileExists(atPath: candidate) {
                try verify(candidate, as: file)
                return candidate
            }
        }
        throw DetectorError.modelNotFound(file: file, searched: searched)
    }

    /// The folders an install or a build lays the models out in, for the executable at `executable`.
    public static func installFolders(executable: String) -> [String] {
        let bin = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        var folders = [bin.appendingPathComponent("Models").path,
                       bin.deletingLastPathComponent().appendingPathComponent("share/svia/Models").path]
        // A SwiftPM build folder: <checkout>/.build/<config>/ or <checkout>/.build/<triple>/<config>/.
        var dir = bin
        for _ in 0..<2 {
            dir = dir.deletingLastPathComponent()
            if dir.lastPathComponent == ".build" {
                folders.append(dir.deletingLastPathComponent().appendingPathComponent("Models").path)
                break
            }
        }
        return folders
    }

    /// Throws unless the file at `path` has the digest pinned for `file` (a name without a pin is refused).
    public static func verify(_ path: String, as file: String) throws {
        guard let expected = pinnedSHA256[file] else {
            throw DetectorError.unexpectedModel(file: path, reason: "no SHA-256 is pinned for \(file); only the shipped detector models are accepted")
        }
        let found: String
        do {
            found = try SHA256.hex(fileAt: URL(fileURLWithPath: path))
        } catch {
            throw DetectorError.unexpectedModel(file: path, reason: "cannot read (\(error.localizedDescription))")
        }
        guard found == expected else {
            throw DetectorError.modelDigestMismatch(path: path, expected: expected, found: found)
        }
    }
}
