import Foundation
import Testing
@testable import Networks

/// The shipped detector models are found only where an install or a build puts them, and only when their
/// SHA-256 matches the pin.
@Suite struct ModelPinningTests {
    static func scratch() throws -> URL {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("svia-pin-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A copy of a shipped model with one byte changed in the middle.
    static func tamperedCopy(_ file: String, into dir: URL) throws -> String {
        var data = try Data(contentsOf: TestSupport.models.appendingPathComponent(file))
        data[data.count / 2] ^= 0x01
        let path = dir.appendingPathComponent(file).path
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func shippedFilesMatchTheirPins() throws {
        for (file, digest) in ModelLocator.pinnedSHA256 {
            #expect(try SHA256.hex(fileAt: TestSupport.models.appendingPathComponent(file)) == digest)
        }
    }

    @Test func tamperedCopyInTheOverrideFolderIsRefused() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.tamperedCopy(FaceDetector.modelFile, into: dir)
        #expect {
            try ModelLocator.path(of: FaceDetector.modelFile, environment: ["SVIA_MODELS_DIR": dir.path])
        } throws: { error in
            guard case DetectorError.modelDigestMismatch(let p, let expected, _)? = error as? DetectorError else { return false }
            return p == path && expected == ModelLocator.pinnedSHA256[FaceDetector.modelFile]
                && "\(error)".contains(path)
        }
        // Asked for on purpose, another model in the override folder is used.
        #expect(try ModelLocator.path(of: FaceDetector.modelFile,
                                      environment: ["SVIA_MODELS_DIR": dir.path, "SVIA_MODELS_UNPINNED": "1"]) == path)
    }

    @Test func plantedCopyBesideTheExecutableIsRefused() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let models = dir.appendingPathComponent("bin/Models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        _ = try Self.tamperedCopy(TextDetector.modelFile, into: models)
        let exe = dir.appendingPathComponent("bin/svia").path
        #expect(throws: DetectorError.self) { try ModelLocator.path(of: TextDetector.modelFile, environment: [:], executable: exe) }
    }

    @Test func onlyInstallAndBuildFoldersAreSearched() throws {
        // A Models/ folder several levels above the executable, outside a build folder, is not looked at.
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let deep = dir.appendingPathComponent("a/b/c/bin")
        try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("Models"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestSupport.models.appendingPathComponent(FaceDetector.modelFile),
                                         to: dir.appendingPathComponent("Models").appendingPathComponent(FaceDetector.modelFile))
        let exe = deep.appendingPathComponent("svia").path
        #expect(ModelLocator.installFolders(executable: exe) == [deep.appendingPathComponent("Models").path,
                                                                 dir.appendingPathComponent("a/b/c/share/svia/Models").path])
        #expect(throws: DetectorError.self) { try ModelLocator.path(of: FaceDetector.modelFile, environment: [:], executable: exe) }
        // The SwiftPM layout with a target triple finds the checkout's Models/.
        let built = TestSupport.repository.appendingPathComponent(".build/x86_64-unknown-linux-gnu/release/svia").path
        #expect(ModelLocator.installFolders(executable: built).last == TestSupport.models.path)
    }
}
