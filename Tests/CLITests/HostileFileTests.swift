import Foundation
import MediaIO
import Testing

/// Hostile files through the release `svia` binary (the build users run, where the parsers' checks must
/// survive optimisation): each gives a line naming the file and a non-zero exit status, never a signal.
/// `Scripts/test.sh` builds the release binary first; elsewhere these tests are skipped when it is absent.
@Suite(.serialized, .enabled(if: ReleaseCLI.available, "release binary .build/release/svia not built; run `swift build -c release --product svia` (Scripts/test.sh does)"))
struct HostileFileTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let tinySegFormer = repository.appendingPathComponent("Tests/NetworksTests/Fixtures/segformer/tiny1").path
    static let models = repository.appendingPathComponent("Models").path

    /// A folder with the tiny SegFormer's files, `config.json` or `model.safetensors` replaced when given.
    static func segmenter(in s: Scratch, config: String? = nil, weights: Data? = nil) throws -> String {
        let dir = try s.mkdir("seg-\(UUID().uuidString.prefix(8))")
        for name in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(atPath: tinySegFormer + "/" + name, toPath: dir + "/" + name)
        }
        if let config { try Data(config.utf8).write(to: URL(fileURLWithPath: dir + "/config.json")) }
        if let weights { try weights.write(to: URL(fileURLWithPath: dir + "/model.safetensors")) }
        return dir
    }

    /// A safetensors file with `header` as its JSON and `data` after it.
    static func safetensors(_ header: String, data: Data = Data(count: 8)) -> Data {
        var out = Data()
        var n = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(Data(header.utf8))
        out.append(data)
        return out
    }

    static func still(_ s: Scratch) throws -> String {
        try StillImage.write(texture(width: 64, height: 48), to: s.file("in.png"))
        return s.file("in.png")
    }

    /// Runs `svia segment` on a small still with the segmenter folder and checks the refusal.
    static func expectRefusal(_ dir: String, naming file: String, _ s: Scratch, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try ReleaseCLI.run(["segment", try still(s), "-o", s.file("out"), "--segmenter", dir, "-q"])
        #expect(!r.signaled, "killed by signal \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.status == 1, "status \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(file), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: s.file("out/in.png")), sourceLocation: sourceLocation)
    }

    @Test func hostileSafetensorsHeadersAreRefused() throws {
        let s = try Scratch()
        let headers = [
            // No elements, but strides beyond Int.
            #"{"x":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}"#,
            // Data beyond the end of the file.
            #"{"x":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}"#,
            // dtype size and byte range disagree.
            #"{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}"#,
            // Negative and absurd dimensions.
            #"{"x":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,8]}}"#,
            #"{"x":{"dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,8]}}"#,
        ]
        for header in headers {
            let dir = try Self.segmenter(in: s, weights: Self.safetensors(header))
            try Self.expectRefusal(dir, naming: "model.safetensors", s)
        }
        // A header length far past the file.
        var huge = Data([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
        huge.append(Data("{}".utf8))
        try Self.expectRefusal(try Self.segmenter(in: s, weights: huge), naming: "model.safetensors", s)
    }

    @Test func hostileSegFormerConfigsAreRefused() throws {
        let s = try Scratch()
        let original = try String(contentsOfFile: Self.tinySegFormer + "/config.json", encoding: .utf8)
        let object = try JSONSerialization.jsonObject(with: Data(original.utf8)) as! [String: Any]
        let changes: [[String: Any]] = [
            ["num_channels": -3],
            ["num_channels": 1_000_000_000],
            ["hidden_sizes": [8, 16, 24, 1 << 40]],
            ["patch_sizes": [7, 3, 3, 1_000_000]],
            ["depths": [1, 1, 1, 100_000_000]],
            ["decoder_hidden_size": 1 << 50],
            ["strides": [4, 2, 2, 0]],
        ]
        for change in changes {
            let config = object.merging(change) { $1 }
            let text = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
            try Self.expectRefusal(try Self.segmenter(in: s, config: text), naming: "config.json", s)
        }
    }

    /// A config.json whose values are sane but do not match the weights names both files.
    @Test func configAndWeightsThatDisagreeNameTheFiles() throws {
        let s = try Scratch()
        let original = try String(contentsOfFile: Self.tinySegFormer + "/config.json", encoding: .utf8)
        var object = try JSONSerialization.jsonObject(with: Data(original.utf8)) as! [String: Any]
        object["decoder_hidden_size"] = 64
        let text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        let dir = try Self.segmenter(in: s, config: text)
        try Self.expectRefusal(dir, naming: "model.safetensors", s)
        try Self.expectRefusal(dir, naming: "config.json", s)
    }

    /// A detector model that is not the shipped one is refused; with SVIA_MODELS_UNPINNED a damaged one is a
    /// clear error naming it.
    @Test func detectorModelsArePinnedAndDamagedOnesRefused() throws {
        let s = try Scratch()
        let input = try Self.still(s)
        let dir = try s.mkdir("models")
        for file in ["centerface.onnx", "ch_PP-OCRv4_det_infer.onnx"] {
            try FileManager.default.copyItem(atPath: Self.models + "/" + file, toPath: dir + "/" + file)
        }
        var face = try Data(contentsOf: URL(fileURLWithPath: dir + "/centerface.onnx"))
        face[face.count / 2] ^= 0x40
        try face.write(to: URL(fileURLWithPath: dir + "/centerface.onnx"))
        let tampered = try ReleaseCLI.run(["anonymize", input, "--method", "blur", "-o", s.file("a.png"), "-q"],
                                          environment: ["SVIA_MODELS_DIR": dir])
        #expect(!tampered.signaled && tampered.status == 1, "\(tampered.status): \(tampered.stderr)")
        #expect(tampered.stderr.contains("centerface.onnx") && tampered.stderr.contains("SHA-256"), "\(tampered.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.file("a.png")))

        for cut in [0, 16, 4096, face.count / 3] {
            try face.prefix(cut).write(to: URL(fileURLWithPath: dir + "/centerface.onnx"))
            let r = try ReleaseCLI.run(["anonymize", input, "--method", "blur", "-o", s.file("b.png"), "-q"],
                                       environment: ["SVIA_MODELS_DIR": dir, "SVIA_MODELS_UNPINNED": "1"])
            #expect(!r.signaled && r.status == 1, "cut \(cut): \(r.status): \(r.stderr)")
            #expect(r.stderr.contains("centerface.onnx"), "cut \(cut): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: s.file("b.png")))
        }
    }
}

/// The release build of `svia` in this checkout.
enum ReleaseCLI {
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/release/svia")

    static var available: Bool { FileManager.default.isExecutableFile(atPath: binary.path) }

    /// The binary for runs whose diffusion work is slow in a debug build: the release one when the caller said it
    /// was just built from this tree (`SVIA_TEST_RELEASE=1`, as Scripts/test.sh sets), else the debug one, so that
    /// a stale release binary is never what a test checks.
    static var forHeavyRuns: URL {
        ProcessInfo.processInfo.environment["SVIA_TEST_RELEASE"] == "1" && available ? binary : CLI.binary
    }

    static func run(_ args: [String], environment: [String: String]? = nil) throws -> CLI.Result {
        try CLI.run(args, environment: environment, binary: binary)
    }
}
