import Foundation
import TensorCore

/// Strict access to a checkpoint's tensors: every key is read at most once with the shape the model
/// expects, and `finish()` rejects keys the model never asked for.
final class SegFormerWeightReader {
    private let archive: SafeTensorsArchive
    private var used: Set<String> = []
    /// Keys the reference model carries but inference never reads (still required, still counted).
    private var ignored: Set<String> = []

    init(_ archive: SafeTensorsArchive) { self.archive = archive }

    /// The tensor stored under `key`, as Float32, after checking it has `shape`.
    func take(_ key: String, _ shape: [Int]) throws -> Tensor {
        guard let info = archive.info(key) else { throw SegFormerError.missingTensor(key: key) }
        guard info.shape == shape else { throw SegFormerError.shapeMismatch(key: key, expected: shape, found: info.shape) }
        used.insert(key)
        do {
            return try archive.tensor(key)
        } catch {
            throw SegFormerError.badWeights(path: archive.path, reason: "tensor \"\(key)\": \(error)")
        }
    }

    /// Marks `key` as present and well-shaped without reading it (BatchNorm's `num_batches_tracked`).
    func expect(_ key: String, _ shape: [Int]) throws {
        guard let info = archive.info(key) else { throw SegFormerError.missingTensor(key: key) }
        guard info.shape == shape else { throw SegFormerError.shapeMismatch(key: key, expected: shape, found: info.shape) }
        used.insert(key)
    }

    /// Throws `unusedTensor` for the first (sorted) key that was never taken.
    func finish() throws {
        if let extra = archive.names.first(where: { !used.contains($0) }) {
            throw SegFormerError.unusedTensor(key: extra)
        }
    }
}

/// Finds `config.json` + `*.safetensors` in a plain folder or a Hugging Face cache entry
/// (`models--org--name/` with `refs/main` and `snapshots/<rev>/`).
enum SegFormerCheckpointFolder {
    static func resolve(_ directory: String) throws -> String {
        let fm = FileManager.default
        let plain = (directory as NSString).appendingPathComponent("config.json")
        if fm.fileExists(atPath: plain) { return directory }
        let snapshots = (directory as NSString).appendingPathComponent("snapshots")
        if let ref = try? String(contentsOfFile: (directory as NSString).appendingPathComponent("refs/main"), encoding: .utf8) {
            let folder = (snapshots as NSString).appendingPathComponent(ref.trimmingCharacters(in: .whitespacesAndNewlines))
            if fm.fileExists(atPath: (folder as NSString).appendingPathComponent("config.json")) { return folder }
        }
        if let revs = try? fm.contentsOfDirectory(atPath: snapshots) {
            let candidates = revs.sorted().map { (snapshots as NSString).appendingPathComponent($0) }
                .filter { fm.fileExists(atPath: ($0 as NSString).appendingPathComponent("config.json")) }
            if candidates.count == 1 { return candidates[0] }
            if candidates.count > 1 {
                throw SegFormerError.unreadable(path: directory, reason: "several snapshots and no refs/main to choose one")
            }
        }
        throw SegFormerError.unreadable(path: directory, reason: "no config.json (neither a model folder nor a Hugging Face cache entry)")
    }
}
