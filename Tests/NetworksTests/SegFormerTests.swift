import Foundation
import Testing
import TensorCore
@testable import Networks

/// Fixtures written by Scripts/fixtures/make_segformer_fixtures.py (transformers 5.23.0, torch 2.15.0):
/// tiny random-weight SegformerForSemanticSegmentation models saved with `save_pretrained`, and the reference's
/// pixel values, stage outputs, logits and class map for one frame each.
enum SegFormerFixtures {
    static let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("segformer")
    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static func scratchFolder() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svia-segformer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}

/// Reference outputs of one case, with the versions that made them checked.
struct SegFormerReference {
    let file: SafeTensorsFile
    let frameWidth: Int, frameHeight: Int
    let rgb: [UInt8]

    init(_ folder: String) throws {
        file = try SafeTensorsFile(path: (folder as NSString).appendingPathComponent("reference.safetensors"))
        let stale = "stale fixture: re-run Scripts/fixtures/make_segformer_fixtures.py"
        #expect(file.metadata["transformers"] == "5.23.0", "\(stale)")
        #expect(file.metadata["torch"]?.hasPrefix("2.15.0") == true, "\(stale)")
        let rgbTensor = try file.tensor("rgb")  // [H0, W0, 3]
        frameHeight = rgbTensor.shape[0]
        frameWidth = rgbTensor.shape[1]
        rgb = rgbTensor.scalars.map { UInt8($0) }
    }

    func tensor(_ name: String) throws -> Tensor { try file.tensor(name) }
}

/// Tokens [H·W, C] as the reference's NCHW [1, C, H, W].
func nchw(_ tokens: Tensor, height: Int, width: Int) -> Tensor {
    tokens.transposed(0, 1).contiguous().reshaped([1, tokens.shape[1], height, width])
}

func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "maxAbsDifference: \(a.shape) vs \(b.shape)")
    return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

func maxAbs(_ a: Tensor) -> Float { a.scalars.reduce(0) { max($0, abs($1)) } }

@Suite struct SegFormerParityTests {
    /// Stage outputs follow layer norms (unit scale); float32 reassociation (token-layout GEMMs, polynomial exp/erf)
    /// measured ≤ 2e-6 on both cases.
    static let hiddenTolerance: Float = 1e-5
    /// Logits pass through the decode head composed at load (fuse·projection products): measured ≤ 2e-6, relative to
    /// the largest logit.
    static let logitsRelativeTolerance: Float = 1e-5
    /// mit-b0 has eight blocks of up to 1024-wide sums and 512x1024 inputs: more rounding to accumulate.
    static let b0LogitsRelativeTolerance: Float = 1e-4

    @Test(arguments: ["tiny1", "tiny2"])
    func matchesTransformers(case name: String) throws {
        let folder = SegFormerFixtures.path(name)
        let model = try SegFormer(directory: folder)
        let ref = try SegFormerReference(folder)
        let pixels = try ref.tensor("pixel_values")
        let out = model.forward(pixels)

        let embedding = try ref.tensor("embedding_0")  // [1, L, C]
        #expect(maxAbsDifference(out.firstEmbedding.reshaped(embedding.shape), embedding) < Self.hiddenTolerance)
        for (i, stage) in out.stages.enumerated() {
            let want = try ref.tensor("hidden_\(i)")
            let got = nchw(stage.tokens, height: stage.height, width: stage.width)
            let diff = maxAbsDifference(got, want)
            #expect(diff < Self.hiddenTolerance, "stage \(i): max |diff| \(diff)")
        }
        let wantLogits = try ref.tensor("logits")
        let logits = model.logits(pixels)
        let diff = maxAbsDifference(logits, wantLogits)
        #expect(diff < Self.logitsRelativeTolerance * max(1, maxAbs(wantLogits)), "logits: max |diff| \(diff)")
    }

    @Test(arguments: ["tiny1", "tiny2"])
    func preprocessingMatchesImageProcessor(case name: String) throws {
        let ref = try SegFormerReference(SegFormerFixtures.path(name))
        let want = try ref.tensor("pixel_values")
        let got = SegFormerImageProcessor().pixelValues(rgb: ref.rgb, width: ref.frameWidth, height: ref.frameHeight,
                                                         size: (want.shape[3], want.shape[2]))
        // PIL's fixed-point resize is reproduced bit for bit; only the float normalisation may round differently.
        #expect(maxAbsDifference(got, want) < 1e-5)
    }

    @Test(arguments: ["tiny1", "tiny2"])
    func classMapMatchesPostProcessing(case name: String) throws {
        let folder = SegFormerFixtures.path(name)
        let model = try SegFormer(directory: folder)
        let ref = try SegFormerReference(folder)
        let pixels = try ref.tensor("pixel_values")
        let map = try model.classMap(rgb: ref.rgb, width: ref.frameWidth, height: ref.frameHeight,
                                     workSize: (pixels.shape[3], pixels.shape[2]))
        let want = try ref.tensor("class_map").scalars.map { UInt8($0) }
        #expect(map.count == want.count)
        let same = zip(map, want).filter { $0 == $1 }.count
        #expect(same == want.count, "\(want.count - same) of \(want.count) pixels differ")
    }

    @Test func labelsComeFromId2label() throws {
        let model = try SegFormer(directory: SegFormerFixtures.path("tiny1"))
        #expect(model.labels.count == 19)
        #expect(model.labels[0] == "road")
        #expect(model.labels[11] == "person")
        #expect(model.labels[18] == "bicycle")
    }

    @Test func logitsBatchMatchesSingleImages() throws {
        let folder = SegFormerFixtures.path("tiny1")
        let model = try SegFormer(directory: folder)
        let pixels = try SegFormerReference(folder).tensor("pixel_values")
        let flipped = Tensor(shape: pixels.shape, scalars: pixels.scalars.reversed())
        let both = Tensor(shape: [2] + pixels.shape.dropFirst(), scalars: pixels.scalars + flipped.scalars)
        let batch = model.logits(both)
        #expect(batch.narrowed(dim: 0, start: 0, length: 1).scalars == model.logits(pixels).scalars)
        #expect(batch.narrowed(dim: 0, start: 1, length: 1).scalars == model.logits(flipped).scalars)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["SVIA_SEGFORMER_B0_FIXTURE"] != nil))
    func fullB0PreprocessingMatches() throws {
        let ref = try SegFormerReference(ProcessInfo.processInfo.environment["SVIA_SEGFORMER_B0_FIXTURE"]!)
        let want = try ref.tensor("pixel_values")
        let got = SegFormerImageProcessor().pixelValues(rgb: ref.rgb, width: ref.frameWidth, height: ref.frameHeight,
                                                         size: (want.shape[3], want.shape[2]))
        let g = got.scalars, w = want.scalars
        let differing = zip(g, w).filter { abs($0 - $1) > 1e-5 }.count
        print("segformer b0 fixture: \(differing) of \(w.count) pixel values differ, max |diff| \(maxAbsDifference(got, want))")
        #expect(differing == 0)
    }

    /// A random-weight mit-b0 written by `make_segformer_fixtures.py --full-b0 DIR` (too large to commit).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SVIA_SEGFORMER_B0_FIXTURE"] != nil))
    func fullB0ClassMapAgreement() throws {
        let folder = ProcessInfo.processInfo.environment["SVIA_SEGFORMER_B0_FIXTURE"]!
        let model = try SegFormer(directory: folder)
        let ref = try SegFormerReference(folder)
        let pixels = try ref.tensor("pixel_values")
        let wantLogits = try ref.tensor("logits")
        let logits = model.logits(pixels)
        let diff = maxAbsDifference(logits, wantLogits)
        let map = try model.classMap(rgb: ref.rgb, width: ref.frameWidth, height: ref.frameHeight,
                                     workSize: (pixels.shape[3], pixels.shape[2]))
        let want = try ref.tensor("class_map").scalars.map { UInt8($0) }
        let agreement = Double(zip(map, want).filter { $0 == $1 }.count) / Double(want.count) * 100
        print("segformer b0 fixture: logits max |diff| \(diff) (max |logit| \(maxAbs(wantLogits))), class-map agreement \(String(format: "%.4f", agreement)) %")
        #expect(diff < Self.b0LogitsRelativeTolerance * max(1, maxAbs(wantLogits)))
        // Random weights leave many near-ties between classes; a handful of pixels may flip.
        #expect(agreement > 99.9)
    }
}

@Suite struct SegFormerRealWeightTests {
    static let folder = ProcessInfo.processInfo.environment["SVIA_REAL_WEIGHTS"]

    /// A real checkpoint (e.g. nvidia/segformer-b0-finetuned-cityscapes-1024-1024, plain folder or hub cache entry).
    @Test(.enabled(if: folder != nil))
    func loadsAndSegmentsRealCheckpoint() throws {
        let model = try SegFormer(directory: Self.folder!)
        #expect(model.labels.count == model.config.numLabels)
        let width = 960, height = 540
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height { for x in 0..<width { for c in 0..<3 { rgb[(y * width + x) * 3 + c] = UInt8((x + y * c) % 256) } } }
        let map = try model.classMap(rgb: rgb, width: width, height: height, workSize: (1024, 512))
        #expect(map.count == width * height)
        #expect(map.allSatisfy { Int($0) < model.config.numLabels })
        // With reference outputs written beside it (`make_segformer_fixtures.py --reference-for DIR`), compare.
        let resolved = try SegFormerCheckpointFolder.resolve(Self.folder!)
        let refPath = (resolved as NSString).appendingPathComponent("svia_segformer_reference.safetensors")
        if FileManager.default.fileExists(atPath: refPath) {
            let ref = try SegFormerReference(resolved)
            let pixels = try ref.tensor("pixel_values")
            let wantLogits = try ref.tensor("logits")
            let diff = maxAbsDifference(model.logits(pixels), wantLogits)
            #expect(diff < SegFormerParityTests.b0LogitsRelativeTolerance * max(1, maxAbs(wantLogits)))
            let got = try model.classMap(rgb: ref.rgb, width: ref.frameWidth, height: ref.frameHeight,
                                         workSize: (pixels.shape[3], pixels.shape[2]))
            let want = try ref.tensor("class_map").scalars.map { UInt8($0) }
            let agreement = Double(zip(got, want).filter { $0 == $1 }.count) / Double(want.count)
            #expect(agreement > 0.999)
        }
    }
}

@Suite struct SegFormerLoadingTests {
    /// Copies tiny1's config and rewrites its weights through `edit`, then loads the folder.
    func load(editing edit: (inout [(String, Tensor)]) -> Void) throws -> SegFormer {
        let source = SegFormerFixtures.path("tiny1")
        let folder = try SegFormerFixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: (source as NSString).appendingPathComponent("config.json"),
                                         toPath: (folder as NSString).appendingPathComponent("config.json"))
        let file = try SafeTensorsFile(path: (source as NSString).appendingPathComponent("model.safetensors"))
        var tensors = try file.names.map { ($0, try file.tensor($0)) }
        edit(&tensors)
        try SafeTensors.write(tensors, to: (folder as NSString).appendingPathComponent("model.safetensors"))
        return try SegFormer(directory: folder)
    }

    @Test func unchangedCopyLoads() throws {
        _ = try load { _ in }
    }

    @Test func missingTensorIsNamed() throws {
        let key = "segformer.encoder.block.2.0.mlp.dense1.weight"
        #expect(throws: SegFormerError.missingTensor(key: key)) { try load { $0.removeAll { $0.0 == key } } }
    }

    @Test func unusedTensorIsNamed() throws {
        let key = "decode_head.linear_c.4.proj.weight"
        #expect(throws: SegFormerError.unusedTensor(key: key)) { try load { $0.append((key, Tensor.zeros([32, 8]))) } }
    }

    @Test func wrongShapeIsNamed() throws {
        let key = "segformer.encoder.block.0.0.attention.self.sr.weight"
        #expect(throws: SegFormerError.shapeMismatch(key: key, expected: [8, 8, 8, 8], found: [8, 8, 4, 4])) {
            try load { t in
                let i = t.firstIndex { $0.0 == key }!
                t[i].1 = Tensor.zeros([8, 8, 4, 4])
            }
        }
    }

    @Test func mismatchedListLengthsAreReported() throws {
        var config = SegFormerConfig.b0
        config.srRatios = [8, 4, 2]
        #expect(throws: SegFormerError.badConfig(path: "config.json",
                                                 reason: "sr_ratios has 3 entries but num_encoder_blocks is 4")) {
            try config.validate()
        }
    }

    @Test func badConfigFileIsReported() throws {
        let folder = try SegFormerFixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = (folder as NSString).appendingPathComponent("config.json")
        let cases = [
            (#"{"hidden_sizes": [30, 64, 160, 256], "num_attention_heads": [4, 2, 5, 8], "id2label": {"0": "a"}}"#,
             "hidden_sizes[0] = 30 is not divisible by num_attention_heads[0] = 4"),
            (#"{"model_type": "bert", "id2label": {"0": "a"}}"#, "model_type is \"bert\""),
            (#"{"id2label": {"0": "a", "2": "b"}}"#, "id2label keys must be the indices"),
            (#"{"depths": "two"}"#, "not a SegFormer config.json"),
        ]
        for (json, reason) in cases {
            try Data(json.utf8).write(to: URL(fileURLWithPath: path))
            do {
                _ = try SegFormerConfig.load(path: path)
                Issue.record("no error for \(json)")
            } catch {
                #expect("\(error)".contains(reason), "\(error)")
            }
        }
    }

    @Test func presetsAreValid() throws {
        for preset in [SegFormerConfig.b0, .b1, .b2, .b3, .b4, .b5] { try preset.validate() }
        #expect(SegFormerConfig.b2.depths == [3, 4, 6, 3])
    }
}
