// A Hugging Face hub cache holding the tiny random-weight fixture models under the real repository names, so
// that code which finds its checkpoints with `HuggingFaceCache.snapshot` (HF_HUB_CACHE pointing here) runs end to
// end in seconds. The layout is huggingface_hub's: `models--ORG--NAME/blobs/<sha256>` holds each file's bytes,
// `snapshots/<commit>/<path>` are relative symbolic links to the blobs, and `refs/main` holds the commit.
// The configs are the real checkpoints' (as diffusers/transformers save them) except where the tiny weights
// need their own (unet, vae, text_encoder, TAESD, SegFormer); the tokenizer is a 1000-token cut of CLIP's.
// huggingface_hub's scan_cache_dir accepts the folder, and diffusers/transformers load every repository from it
// offline (HF_HUB_OFFLINE=1). Blobs are named by SHA-256 for every file (the hub names small non-LFS files by
// their git blob id instead; nothing reads blob names), and the commit is derived from the paths and contents.
import Foundation

enum TinyHub {
    static let inpainting = "stabilityai/stable-diffusion-2-inpainting"
    static let sd2 = "stabilityai/stable-diffusion-2"
    static let sdTurbo = "stabilityai/sd-turbo"
    static let taesd = "madebyollin/taesd"
    static let segformer = "nvidia/segformer-b0-finetuned-cityscapes-1024-1024"

    /// Every repository `make` can write.
    static let repositories: [String] = [inpainting, sd2, sdTurbo, taesd, segformer]

    /// `Tests/NetworksTests/Fixtures`, found from this file's location (no bundle resources needed).
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("NetworksTests/Fixtures", isDirectory: true)

    /// The tiny tokenizer's ids for a few prompts as transformers gives them (`tokenizer_ids.json`).
    static var tokenizerIds: URL { fixtures.appendingPathComponent("diffusion/tiny/tokenizer_ids.json") }

    enum Failure: Error, CustomStringConvertible {
        case unknownRepository(String)
        case missingFixture(String)
        case hashing(String)

        var description: String {
            switch self {
            case let .unknownRepository(r):
                "TinyHub: no tiny model for \"\(r)\" (known: \(TinyHub.repositories.joined(separator: ", ")))"
            case let .missingFixture(p): "TinyHub: fixture file \(p) is missing"
            case let .hashing(why): "TinyHub: sha256 failed (\(why))"
            }
        }
    }

    /// The files of `repository`: path inside the snapshot -> fixture file with its bytes.
    static func files(of repository: String) throws -> [(path: String, source: URL)] {
        let diffusion = fixtures.appendingPathComponent("diffusion", isDirectory: true)
        let tiny = diffusion.appendingPathComponent("tiny", isDirectory: true)
        func component(_ name: String, from folder: String, weights: String) -> [(String, URL)] {
            [("\(name)/config.json", tiny.appendingPathComponent("\(folder)/config.json")),
             ("\(name)/\(weights)", tiny.appendingPathComponent("\(folder)/\(weights)"))]
        }
        func pipeline(configs: String, unet: String) -> [(String, URL)] {
            let real = diffusion.appendingPathComponent("configs/\(configs)", isDirectory: true)
            return [("model_index.json", real.appendingPathComponent("model_index.json")),
                    ("scheduler/scheduler_config.json", real.appendingPathComponent("scheduler.json"))]
                + component("unet", from: unet, weights: "diffusion_pytorch_model.safetensors")
                + component("vae", from: "vae", weights: "diffusion_pytorch_model.safetensors")
                + component("text_encoder", from: "text_encoder", weights: "model.safetensors")
                + ["merges.txt", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"].map {
                    ("tokenizer/\($0)", tiny.appendingPathComponent("tokenizer/\($0)"))
                }
        }
        let list: [(String, URL)]
        switch repository {
        case inpainting: list = pipeline(configs: "stable-diffusion-2-inpainting", unet: "unet_inpaint")
        case sd2: list = pipeline(configs: "stable-diffusion-2", unet: "unet_v")
        case sdTurbo: list = pipeline(configs: "sd-turbo", unet: "unet_v")
        case taesd:
            list = [("config.json", tiny.appendingPathComponent("vae_tiny/config.json")),
                    ("diffusion_pytorch_model.safetensors",
                     tiny.appendingPathComponent("vae_tiny/diffusion_pytorch_model.safetensors"))]
        case segformer:
            let folder = fixtures.appendingPathComponent("segformer/tiny1", isDirectory: true)
            list = [("config.json", folder.appendingPathComponent("config.json")),
                    ("model.safetensors", folder.appendingPathComponent("model.safetensors"))]
        default: throw Failure.unknownRepository(repository)
        }
        return list.map { (path: $0.0, source: $0.1) }
    }

    /// Writes a hub cache at `root/hub` holding `repositories` (default: all of `TinyHub.repositories`) and
    /// returns that folder, the value for `HF_HUB_CACHE`. Calling it again on the same root is harmless.
    @discardableResult
    static func make(at root: URL, repositories: Set<String>? = nil) throws -> URL {
        let wanted = repositories ?? Set(self.repositories)
        if let unknown = wanted.subtracting(self.repositories).sorted().first { throw Failure.unknownRepository(unknown) }
        let hub = root.appendingPathComponent("hub", isDirectory: true)
        for repository in self.repositories where wanted.contains(repository) {
            try write(repository, files: files(of: repository), hub: hub)
        }
        return hub
    }

    /// `["HF_HUB_CACHE": hub.path]`: the environment entry that points huggingface_hub and svia at `hub`.
    static func environment(hub: URL) -> [String: String] { ["HF_HUB_CACHE": hub.path] }

    // MARK: - Writing

    private static func write(_ repository: String, files: [(path: String, source: URL)], hub: URL) throws {
        let fm = FileManager.default
        for file in files where !fm.fileExists(atPath: file.source.path) {
            throw Failure.missingFixture(file.source.path)
        }
        let hashes = try sha256(files: files.map(\.source))
        // A stand-in for the git commit: 40 hex digits that change whenever any path or content does.
        let manifest = zip(files, hashes).map { "\($0.path) \($1)\n" }.joined()
        let commit = String(try sha256(data: Data(manifest.utf8)).prefix(40))

        let repoDir = hub.appendingPathComponent("models--" + repository.replacingOccurrences(of: "/", with: "--"),
                                                 isDirectory: true)
        let blobs = repoDir.appendingPathComponent("blobs", isDirectory: true)
        let snapshot = repoDir.appendingPathComponent("snapshots/\(commit)", isDirectory: true)
        let refs = repoDir.appendingPathComponent("refs", isDirectory: true)
        for dir in [blobs, snapshot, refs] { try fm.createDirectory(at: dir, withIntermediateDirectories: true) }

        for (file, hash) in zip(files, hashes) {
            let blob = blobs.appendingPathComponent(hash)
            if !fm.fileExists(atPath: blob.path) {
                // Copied under a temporary name, then renamed: a blob is either whole or absent.
                let partial = blobs.appendingPathComponent(hash + ".incomplete")
                try? fm.removeItem(at: partial)
                try fm.copyItem(at: file.source, to: partial)
                try fm.moveItem(at: partial, to: blob)
            }
            let link = snapshot.appendingPathComponent(file.path)
            try fm.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
            // snapshots/<commit>/a/b.json -> ../../../blobs/<hash>: one ".." per folder between it and the repo.
            let depth = 2 + file.path.split(separator: "/").count - 1
            let target = String(repeating: "../", count: depth) + "blobs/" + hash
            if (try? fm.destinationOfSymbolicLink(atPath: link.path)) == target { continue }
            try? fm.removeItem(at: link)
            try fm.createSymbolicLink(atPath: link.path, withDestinationPath: target)
        }

        let ref = refs.appendingPathComponent("main")
        let partialRef = refs.appendingPathComponent(".main.\(UUID().uuidString)")
        try Data(commit.utf8).write(to: partialRef)
        if fm.fileExists(atPath: ref.path) { try fm.removeItem(at: ref) }
        try fm.moveItem(at: partialRef, to: ref)
    }

    // MARK: - SHA-256 through the system tool

    /// `sha256sum` (Linux) or `shasum -a 256` (macOS).
    private static func hasher() throws -> (URL, [String]) {
        for (path, args) in [("/usr/bin/sha256sum", []), ("/bin/sha256sum", []), ("/usr/bin/shasum", ["-a", "256"])]
        where FileManager.default.isExecutableFile(atPath: path) {
            return (URL(fileURLWithPath: path), args)
        }
        throw Failure.hashing("neither sha256sum nor shasum found")
    }

    private static func runHasher(_ arguments: [String], input: Data?) throws -> [String] {
        let (tool, base) = try hasher()
        let process = Process()
        process.executableURL = tool
        process.arguments = base + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            try stdin.fileHandleForWriting.write(contentsOf: input)
            try stdin.fileHandleForWriting.close()
        }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure.hashing("\(tool.path) exited with \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
        }
        // One "<64 hex>  <name>" line per input, in argument order.
        let hashes = String(decoding: output, as: UTF8.self).split(separator: "\n").map { String($0.prefix(64)) }
        guard hashes.allSatisfy({ $0.count == 64 && $0.allSatisfy(\.isHexDigit) }) else {
            throw Failure.hashing("unexpected output from \(tool.path)")
        }
        return hashes
    }

    /// The lower-case hex SHA-256 of each file, in order.
    static func sha256(files: [URL]) throws -> [String] {
        let hashes = try runHasher(["--"] + files.map(\.path), input: nil)
        guard hashes.count == files.count else { throw Failure.hashing("expected \(files.count) hashes, got \(hashes.count)") }
        return hashes
    }

    static func sha256(data: Data) throws -> String {
        let hashes = try runHasher([], input: data)
        guard hashes.count == 1 else { throw Failure.hashing("expected one hash, got \(hashes.count)") }
        return hashes[0]
    }
}
