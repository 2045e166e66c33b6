import Foundation
import SwiftProtobuf
import Testing
import TensorCore
@testable import Networks

/// Loading and validation of ONNX files: bad files and unsupported content are typed errors naming the
/// file and node, never crashes; a small hand-built graph runs with the expected numbers.
@Suite struct ONNXLoadingTests {
    static func tensor(_ name: String, _ dims: [Int64], _ values: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims
        t.dataType = 1
        t.floatData = values
        return t
    }

    static func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String = "",
                     attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = outputs
        n.name = name
        n.attribute = attributes
        return n
    }

    static func ints(_ name: String, _ v: [Int64]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = v
        return a
    }

    static func string(_ name: String, _ s: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .string
        a.s = Data(s.utf8)
        return a
    }

    /// x [1,1,H,W] → Conv 3x3 (pad 1) → BatchNormalization → Relu → y.
    static func model(nodes: [Onnx_NodeProto]? = nil, initializers: [Onnx_TensorProto]? = nil) throws -> Data {
        var m = Onnx_ModelProto()
        m.irVersion = 7
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 13
        m.opsetImport = [opset]
        var g = Onnx_GraphProto()
        g.node = nodes ?? [
            node("Conv", ["x", "w", "b"], ["c"], name: "conv", attributes: [ints("pads", [1, 1, 1, 1])]),
            node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["n"], name: "bn"),
            node("Relu", ["n"], ["y"], name: "relu"),
        ]
        g.initializer = initializers ?? [
            tensor("w", [1, 1, 3, 3], [0, 0, 0, 0, 1, 0, 0, 0, -1]),
            tensor("b", [1], [0.5]),
            tensor("gamma", [1], [2]), tensor("beta", [1], [1]), tensor("mean", [1], [0.5]), tensor("var", [1], [4]),
        ]
        var x = Onnx_ValueInfoProto()
        x.name = "x"
        var y = Onnx_ValueInfoProto()
        y.name = "y"
        g.input = [x]
        g.output = [y]
        m.graph = g
        return try m.serializedBytes()
    }

    @Test func smallGraphFoldsBatchNormAndComputes() throws {
        let net = try ONNXNetwork(model: try ONNXModel(data: try Self.model(), file: "small.onnx"))
        #expect(net.stepCount == 1)  // Conv with BatchNorm folded and Relu fused
        let x = Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4])
        let y = try net.run(x)["y"]!
        // conv: x[i,j] − x[i+1,j+1] + 0.5; bn: (c − 0.5)·2/√(4+1e-5) + 1; relu.
        let conv: [Float] = [1 - 4 + 0.5, 2 + 0.5, 3 + 0.5, 4 + 0.5]
        let want = conv.map { max(0, ($0 - 0.5) * 2 / (4 + 1e-5).squareRoot() + 1) }
        for (a, b) in zip(y.scalars, want) { #expect(abs(a - b) < 1e-5) }
    }

    @Test func missingFileNamesThePath() {
        #expect(throws: ONNXError.self) { try ONNXModel(path: "/nonexistent/model.onnx") }
        do { _ = try ONNXModel(path: "/nonexistent/model.onnx") } catch {
            #expect("\(error)".contains("/nonexistent/model.onnx"))
        }
    }

    @Test func truncatedAndGarbageFilesAreMalformed() throws {
        let full = try Data(contentsOf: TestSupport.models.appendingPathComponent(FaceDetector.modelFile))
        for cut in [10, 1000, 100_000, full.count / 2, full.count - 3] {
            #expect(throws: ONNXError.self) { try ONNXModel(data: full.prefix(cut), file: "centerface.onnx") }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let junk = Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) })
            #expect(throws: ONNXError.self) { try ONNXNetwork(model: try ONNXModel(data: junk, file: "junk.onnx")) }
        }
        #expect(throws: ONNXError.self) { try ONNXModel(data: Data(), file: "empty.onnx") }
    }

    @Test func unsupportedOpNamesNodeAndOp() throws {
        let data = try Self.model(nodes: [Self.node("Gemm", ["x", "w"], ["y"], name: "fc")])
        #expect(throws: ONNXError.unsupportedOp(file: "m.onnx", node: "fc", op: "Gemm")) {
            try ONNXNetwork(model: try ONNXModel(data: data, file: "m.onnx"))
        }
    }

    @Test func unsupportedAttributeNamesIt() throws {
        let data = try Self.model(nodes: [
            Self.node("Resize", ["x", "", "s"], ["y"], name: "up", attributes: [Self.string("mode", "cubic")]),
        ], initializers: [Self.tensor("s", [4], [1, 1, 2, 2])])
        #expect(throws: ONNXError.unsupportedAttribute(file: "m.onnx", node: "up", op: "Resize", attribute: "mode",
                                                       value: "cubic")) {
            try ONNXNetwork(model: try ONNXModel(data: data, file: "m.onnx"))
        }
    }

    @Test func missingInitializerIsMissingValue() throws {
        let data = try Self.model(initializers: [Self.tensor("w", [1, 1, 3, 3], [Float](repeating: 0, count: 9))])
        #expect(throws: ONNXError.missingValue(file: "m.onnx", node: "conv", value: "b")) {
            try ONNXNetwork(model: try ONNXModel(data: data, file: "m.onnx"))
        }
    }

    @Test func wrongTensorSizeAndTypeAreRejected() throws {
        let short = try Self.model(initializers: [Self.tensor("w", [1, 1, 3, 3], [1, 2, 3])])
        #expect(throws: ONNXError.self) { try ONNXModel(data: short, file: "m.onnx") }
        do { _ = try ONNXModel(data: short, file: "m.onnx") } catch let e as ONNXError {
            guard case .badTensorData(let file, let tensor, _) = e else { Issue.record("\(e)"); return }
            #expect(file == "m.onnx" && tensor == "w")
        }
        var strings = Onnx_TensorProto()
        strings.name = "w"
        strings.dims = [1]
        strings.dataType = 8
        strings.stringData = [Data("a".utf8)]
        let typed = try Self.model(initializers: [strings])
        #expect(throws: ONNXError.unsupportedDataType(file: "m.onnx", tensor: "w", dataType: 8)) {
            try ONNXModel(data: typed, file: "m.onnx")
        }
    }

    @Test func wrongInputShapeThrowsInsteadOfCrashing() throws {
        let net = TestSupport.faceDetector.network
        #expect(throws: ONNXError.self) { try net.run(Tensor(shape: [1, 4, 64, 64], repeating: 0)) }
        #expect(throws: ONNXError.self) { try net.run(["nope": Tensor(shape: [1, 3, 64, 64], repeating: 0)]) }
    }

    @Test func perChannelConstantOfTheWrongSizeThrows() throws {
        let data = try Self.model(nodes: [Self.node("Mul", ["x", "k"], ["y"], name: "scale")],
                                  initializers: [Self.tensor("k", [1, 3, 1, 1], [1, 2, 3])])
        let net = try ONNXNetwork(model: try ONNXModel(data: data, file: "m.onnx"))
        #expect(try net.run(Tensor(shape: [1, 3, 2, 2], repeating: 1))["y"]!.scalars == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
        #expect(throws: ONNXError.self) { try net.run(Tensor(shape: [1, 5, 2, 2], repeating: 1)) }
    }

    @Test func modelLocatorHonoursEnvironmentAndNamesPaths() throws {
        let dir = TestSupport.models.path
        let found = try ModelLocator.path(of: FaceDetector.modelFile, environment: ["SVIA_MODELS_DIR": dir])
        #expect(found.hasSuffix("Models/centerface.onnx"))
        #expect(throws: DetectorError.modelNotFound(file: "x.onnx", searched: ["/tmp/none/x.onnx"])) {
            try ModelLocator.path(of: "x.onnx", environment: ["SVIA_MODELS_DIR": "/tmp/none"])
        }
        // Without the variable: Models/ beside the executable or above it (here: the checkout).
        let exe = TestSupport.repository.appendingPathComponent(".build/debug/svia").path
        #expect(try ModelLocator.path(of: TextDetector.modelFile, environment: [:], executable: exe)
            .hasSuffix("Models/ch_PP-OCRv4_det_infer.onnx"))
    }

    @Test func inputSizesFollowTheReferences() throws {
        #expect(FaceDetector.inputSize(width: 1280, height: 720, options: .init(scale: (640, 360))) == (640, 384))
        #expect(FaceDetector.inputSize(width: 176, height: 144, options: .default) == (192, 160))
        // rapidocr: shorter side up to 736, then sides rounded (half to even) to multiples of 32.
        #expect(try TextDetector.inputSize(width: 600, height: 482, options: .default) == (928, 736))
        #expect(try TextDetector.inputSize(width: 1920, height: 1080, options: .init(limitType: .max, limitSideLength: 960)) == (960, 544))
        #expect(throws: DetectorError.self) { try RGBFrame(width: 2, height: 2, pixels: [0, 0, 0]) }
    }
}
