import Foundation
import Testing
@testable import TensorCore

/// Kernels against PyTorch 2.15 outputs written by Scripts/fixtures/make_tensorcore_kernel_fixtures.py
/// (re-run it when a fixture's "torch" metadata is stale). Each case's arguments are JSON in the metadata.
@Suite struct KernelParityTests {
    /// A fixture case's arguments and tensors.
    struct FixtureCase {
        let file: SafeTensorsFile
        let name: String
        let args: [String: Any]
        func tensor(_ t: String) throws -> Tensor { try file.tensor("\(name).\(t)") }
        func int(_ key: String) -> Int { args[key] as? Int ?? 0 }
    }

    static func cases(_ file: String) throws -> [FixtureCase] {
        let f = try Fixtures.open(file)
        #expect(f.metadata["torch"] == "2.15.0", "\(file) was written by another torch; re-run its script")
        let names = f.metadata.keys.filter { !["torch", "script"].contains($0) }.sorted()
        #expect(!names.isEmpty, "\(file) holds no cases")
        return names.map { name in
            let json = try? JSONSerialization.jsonObject(with: Data(f.metadata[name]!.utf8))
            return FixtureCase(file: f, name: name, args: json as? [String: Any] ?? [:])
        }
    }

    @Test func conv2dMatchesTorch() throws {
        for c in try Self.cases("kernels_conv.safetensors") {
            let s = c.int("stride"), p = c.int("padding"), d = c.int("dilation")
            let y = Tensor.conv2d(try c.tensor("x"), weight: try c.tensor("w"), bias: try c.tensor("b"), stride: s,
                                  padding: p, dilation: d, groups: c.int("groups"))
            let tol = c.name.hasPrefix("winograd") ? KernelTolerance.winograd4 : KernelTolerance.gemm
            expectClose(y, try c.tensor("y"), tol, "conv2d \(c.name)")
        }
    }

    @Test func convTranspose2dMatchesTorch() throws {
        for c in try Self.cases("kernels_conv_transpose.safetensors") {
            let y = Tensor.convTranspose2d(try c.tensor("x"), weight: try c.tensor("w"), bias: try c.tensor("b"),
                                           stride: c.int("stride"), padding: c.int("padding"),
                                           outputPadding: c.int("output_padding"), groups: c.int("groups"),
                                           dilation: c.int("dilation"))
            expectClose(y, try c.tensor("y"), KernelTolerance.gemm, "convTranspose2d \(c.name)")
        }
    }

    @Test func linearAndMatmulMatchTorch() throws {
        for c in try Self.cases("kernels_linear_matmul.safetensors") {
            let y: Tensor
            switch c.name {
            case "linear": y = Tensor.linear(try c.tensor("x"), weight: try c.tensor("w"), bias: try c.tensor("b"))
            case "bmm": y = Tensor.bmm(try c.tensor("a"), try c.tensor("b"))
            default: y = Tensor.matmul(try c.tensor("a"), try c.tensor("b"))
            }
            expectClose(y, try c.tensor("y"), KernelTolerance.gemm, c.name)
        }
    }

    @Test func attentionMatchesTorch() throws {
        for c in try Self.cases("kernels_attention.safetensors") {
            let scale = (c.args["scale"] as? Double).map { Float($0) }
            let q = try c.tensor("q"), k = try c.tensor("k"), v = try c.tensor("v")
            let causal = c.args["causal"] as? Bool ?? false
            expectClose(Tensor.scaledDotProductAttention(q, k, v, causal: causal, scale: scale), try c.tensor("y"),
                        KernelTolerance.attention, "attention \(c.name)")
            // Small blocks, so queries and keys span several blocks with a partial last one.
            expectClose(Tensor.attention(q, k, v, causal: causal, scale: scale, queryBlock: 16, keyBlock: 24),
                        try c.tensor("y"), KernelTolerance.attention, "attention \(c.name), blocked")
        }
    }
}
