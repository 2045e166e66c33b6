import Foundation

/// A checkpoint that may be sharded: one `.safetensors` file, a `*.safetensors.index.json` whose
/// `weight_map` names each tensor's shard, or a folder holding exactly one of either.
public final class SafeTensorsArchive: @unchecked Sendable {
    /// The file or index the archive was opened from (after resolving a folder).
    public let path: String
    private let files: [SafeTensorsFile]
    private let fileOf: [String: Int]
    private let sortedNames: [String]

    public var names: [String] { sortedNames }

    public init(path: String) throws {
        let resolved = try SafeTensorsArchive.resolve(path)
        self.path = resolved
        if resolved.hasSuffix(".json") {
            let (shards, map) = try SafeTensorsArchive.readIndex(resolved)
            let folder = (resolved as NSString).deletingLastPathComponent
            var opened: [SafeTensorsFile] = []
            var slot: [String: Int] = [:]
            for shard in shards {
                slot[shard] = opened.count
                opened.append(try SafeTensorsFile(path: (folder as NSString).appendingPathComponent(shard)))
            }
            var fileOf: [String: Int] = [:]
            for (name, shard) in map {
                let i = slot[shard]!
                guard opened[i].info(name) != nil else {
                    throw SafeTensorsError.missingTensor(file: opened[i].path, name: name)
                }
                fileOf[name] = i
            }
            files = opened
            self.fileOf = fileOf
        } else {
            let file = try SafeTensorsFile(path: resolved)
            files = [file]
            fileOf = Dictionary(uniqueKeysWithValues: file.names.map { ($0, 0) })
        }
        sortedNames = fileOf.keys.sorted()
    }

    /// The stored dtype name and shape, or nil when absent.
    public func info(_ name: String) -> (dtype: String, shape: [Int])? {
        fileOf[name].flatMap { files[$0].info(name) }
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let i = fileOf[name] else { throw SafeTensorsError.missingTensor(file: path, name: name) }
        return try files[i].tensor(name)
    }

    /// A folder resolves to its single index, else its single `.safetensors` file.
    private static func resolve(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SafeTensorsError.io(file: path, reason: "no such file or folder")
        }
        guard isDirectory.boolValue else { return path }
        let listing: [String]
        do { listing = try FileManager.default.contentsOfDirectory(atPath: path).sorted() } catch {
            throw SafeTensorsError.io(file: path, reason: "cannot list folder")
        }
        let indices = listing.filter { $0.hasSuffix(".safetensors.index.json") }
        let singles = listing.filter { $0.hasSuffix(".safetensors") }
        let pick = indices.isEmpty ? singles : indices
        guard pick.count == 1 else {
            let reason = pick.isEmpty
                ? "the folder holds no .safetensors file or index"
                : "the folder holds several candidates (\(pick.joined(separator: ", "))); name one"
            throw SafeTensorsError.invalidIndex(file: path, reason: reason)
        }
        return (path as NSString).appendingPathComponent(pick[0])
    }

    /// The shard file names (sorted) and the tensor → shard map, with shard names confined to the folder.
    private static func readIndex(_ path: String) throws -> (shards: [String], map: [String: String]) {
        struct Index: Decodable { var weight_map: [String: String] }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SafeTensorsError.io(file: path, reason: "cannot read")
        }
        let index: Index
        do { index = try JSONDecoder().decode(Index.self, from: data) } catch {
            throw SafeTensorsError.invalidIndex(file: path, reason: "not a JSON object with a weight_map of strings")
        }
        for shard in Set(index.weight_map.values) {
            guard !shard.isEmpty, !shard.contains("/"), !shard.contains("\\"), shard != "..", shard != "." else {
                throw SafeTensorsError.invalidIndex(file: path, reason: "shard name '\(shard)' must be a file in the index's folder")
            }
        }
        return (Set(index.weight_map.values).sorted(), index.weight_map)
    }
}
