import Foundation
import MediaIO

/// One file to anonymize: where it comes from, where it goes, and where its label maps are.
public struct JobItem: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable { case video, image }
    public var input: String
    public var output: String
    public var kind: Kind
    /// Path relative to the folder the input was found in (its file name for a single input).
    public var relativePath: String
    /// Label maps: a PNG for a still, a folder of `%06d.png` for a video; nil when none were given.
    public var labelMaps: String?
}

/// A file that was found but will not be processed, and why.
public struct SkippedFile: Sendable, Equatable, Codable {
    public var path: String
    public var reason: String
}

public struct PlanError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Turns the command line's inputs and output into a list of jobs.
///
/// - A single file with an output that has a media extension is written to that file.
/// - Otherwise the output is a folder: a file input goes to `OUTPUT/<name>`, a folder input is mirrored
///   under `OUTPUT/` (recursively; other files are skipped with a note).
/// - With no output, each file goes beside its input as `<name>_anonymized.<ext>` and a folder to
///   `<folder>_anonymized/`.
/// - A derived output name keeps the input's extension when svia writes that container; MPEG-TS, AVI,
///   FLV and 3GP become `.mp4`, WebM `.mkv` (see `MediaKind.outputExtension`).
/// An output never equals an input, and a folder walk never descends into the output folder.
public enum JobPlanner {
    public static func plan(inputs: [String], output: String?, masks: String?, outputIsFolder: Bool = false,
                            fileManager fm: FileManager = .default) throws -> (items: [JobItem], skipped: [SkippedFile]) {
        guard !inputs.isEmpty else { throw PlanError("no input given") }
        var items: [JobItem] = []
        var skipped: [SkippedFile] = []
        let outputIsFile: Bool = {
            guard let output, inputs.count == 1, !outputIsFolder else { return false }
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: output, isDirectory: &isDir), isDir.boolValue { return false }
            return MediaKind.of(path: output) != .unsupported
        }()

        for input in inputs {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: input, isDirectory: &isDir) else {
                throw PlanError("\(input): no such file or folder")
            }
            if isDir.boolValue {
                let root = URL(fileURLWithPath: input).standardizedFileURL
                let outRoot = output.map { URL(fileURLWithPath: $0).standardizedFileURL }
                    ?? root.deletingLastPathComponent().appendingPathComponent(root.lastPathComponent + "_anonymized")
                var found = 0
                for rel in try walk(root, excluding: outRoot, fm: fm) {
                    let src = root.appendingPathComponent(rel).path
                    guard let kind = kindOf(src) else {
                        skipped.append(SkippedFile(path: src, reason: "not a supported video or image"))
                        continue
                    }
                    found += 1
                    items.append(JobItem(input: src, output: writable(outRoot.appendingPathComponent(rel).path), kind: kind,
                                         relativePath: rel, labelMaps: masks.map { labelMapPath($0, rel, kind) }))
                }
                if found == 0 { throw PlanError("\(input): folder holds no video or image files") }
            } else {
                guard let kind = kindOf(input) else {
                    throw PlanError("\(input): not a supported video or image (by its extension)")
                }
                let name = (input as NSString).lastPathComponent
                let dest: String
                if let output {
                    dest = outputIsFile ? output : writable(URL(fileURLWithPath: output).appendingPathComponent(name).path)
                } else {
                    let u = URL(fileURLWithPath: input)
                    let ext = u.pathExtension
                    dest = writable(u.deletingPathExtension().path + "_anonymized" + (ext.isEmpty ? "" : "." + ext))
                }
                var maps: String? = nil
                if let masks {
                    // A single video may keep its frames' maps directly in the folder given.
                    let nested = labelMapPath(masks, name, kind)
                    maps = (kind == .video && inputs.count == 1 && !fm.fileExists(atPath: nested)) ? masks : nested
                }
                items.append(JobItem(input: input, output: dest, kind: kind, relativePath: name, labelMaps: maps))
            }
        }

        // Two inputs whose names differ only by a container svia does not write (`rec.ts`, `rec.mp4`) keep
        // the difference in the name: `rec_ts.mp4`.
        let outputCounts = Dictionary(items.map { (canonical($0.output), 1) }, uniquingKeysWith: +)
        for i in items.indices where outputCounts[canonical(items[i].output)]! > 1 {
            let inExt = (items[i].input as NSString).pathExtension
            guard MediaKind.outputExtension(for: items[i].input) != nil else { continue }
            let out = items[i].output as NSString
            items[i].output = out.deletingPathExtension + "_" + inExt.lowercased() + "." + out.pathExtension
        }

        // Never overwrite an input; never write two jobs to one file.
        let inputPaths = Set(items.map { canonical($0.input) })
        var seen = Set<String>()
        for item in items {
            let out = canonical(item.output)
            if inputPaths.contains(out) {
                throw PlanError("\(item.output): output would overwrite an input; choose another output")
            }
            if !seen.insert(out).inserted {
                throw PlanError("\(item.output): two inputs would be written to the same output")
            }
            if MediaKind.of(path: item.output) == .unsupported {
                throw PlanError("\(item.output): output needs a video or image extension")
            }
            if MediaKind.outputExtension(for: item.output) != nil {
                throw PlanError("\(item.output): svia does not write .\((item.output as NSString).pathExtension) files; "
                                + "name the output .mp4, .mkv or .mov")
            }
        }
        return (items, skipped)
    }

    /// `path` with its extension replaced by one svia writes, when the input's container is not one.
    static func writable(_ path: String) -> String {
        guard let ext = MediaKind.outputExtension(for: path) else { return path }
        return (path as NSString).deletingPathExtension + "." + ext
    }

    static func kindOf(_ path: String) -> JobItem.Kind? {
        switch MediaKind.of(path: path) {
        case .video: return .video
        case .image: return .image
        default: return nil
        }
    }

    /// Where the label maps of `relativePath` live under `masks`.
    static func labelMapPath(_ masks: String, _ relativePath: String, _ kind: JobItem.Kind) -> String {
        let stem = (relativePath as NSString).deletingPathExtension
        let base = URL(fileURLWithPath: masks)
        return kind == .image ? base.appendingPathComponent(stem + ".png").path : base.appendingPathComponent(stem).path
    }

    /// Regular files under `root`, as sorted relative paths; hidden entries and `excluding` skipped.
    static func walk(_ root: URL, excluding: URL, fm: FileManager) throws -> [String] {
        guard let e = fm.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey, .isDirectoryKey],
                                    options: [.skipsHiddenFiles]) else {
            throw PlanError("\(root.path): cannot read folder")
        }
        let excluded = canonical(excluding.path)
        var out: [String] = []
        let rootPath = canonical(root.path)
        for case let url as URL in e {
            let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .isDirectoryKey])
            if values?.isDirectory == true {
                if canonical(url.path) == excluded { e.skipDescendants() }
                continue
            }
            guard values?.isRegularFile == true else { continue }
            let p = canonical(url.path)
            guard p.hasPrefix(rootPath + "/") else { continue }
            out.append(String(p.dropFirst(rootPath.count + 1)))
        }
        return out.sorted()
    }

    /// Absolute path with symbolic links resolved, also for files that do not exist yet.
    static func canonical(_ path: String) -> String {
        let u = URL(fileURLWithPath: path).standardizedFileURL
        let parent = u.deletingLastPathComponent().resolvingSymlinksInPath()
        if FileManager.default.fileExists(atPath: u.path) { return u.resolvingSymlinksInPath().path }
        return parent.appendingPathComponent(u.lastPathComponent).path
    }
}
