import Testing
@testable import TensorCore

/// Ops against PyTorch 2.15.0. Each fixture is written by the named function in
/// Scripts/fixtures/make_tensorcore_fixtures.py (re-run it when the pins change).
@Suite struct OpsParityTests {
    /// Fixture: `elementwise()`: a [3,1,7], b [1,17,1]; `a + b`, `a - b`, `a * b`, `a / b_safe`,
    /// `torch.clamp(a * 3, min=-1.0, max=0.5)`.
    @Test func broadcastingArithmetic() throws {
        let f = try Fixtures.open("ops_elementwise.safetensors")
        let a = try f.tensor("a"), b = try f.tensor("b"), bs = try f.tensor("b_safe")
        expectClose(a + b, try f.tensor("add"), Tolerance.exact, "add")
        expectClose(a - b, try f.tensor("sub"), Tolerance.exact, "sub")
        expectClose(a * b, try f.tensor("mul"), Tolerance.exact, "mul")
        expectClose(a / bs, try f.tensor("div"), Tolerance.exact, "div")
        expectClose((a * 3).clamp(min: -1, max: 0.5), try f.tensor("clamp"), Tolerance.exact, "clamp")
        // Operand order and a strided view give the same numbers.
        expectClose(b + a, try f.tensor("add"), Tolerance.exact, "add reversed")
        let at = a.permuted([2, 1, 0]).contiguous().permuted([2, 1, 0])
        expectClose(at - b, try f.tensor("sub"), Tolerance.exact, "sub strided")
    }

    /// Fixture: `activations()`: x = linspace(-7, 7, 99) as [3, 33] plus noise; F.relu, F.silu, F.gelu
    /// (erf and tanh), torch.sigmoid/tanh/exp, F.hardsigmoid, F.hardswish, clamp(0.2x + 0.5, 0, 1).
    @Test func activations() throws {
        let f = try Fixtures.open("ops_activation.safetensors")
        let x = try f.tensor("x")
        expectClose(x.relu(), try f.tensor("relu"), Tolerance.exact, "relu")
        expectClose(x.silu(), try f.tensor("silu"), Tolerance.transcendental, "silu")
        expectClose(x.gelu(), try f.tensor("gelu"), Tolerance.transcendental, "gelu")
        expectClose(x.gelu(approximate: .tanh), try f.tensor("gelu_tanh"), Tolerance.transcendental, "gelu tanh")
        expectClose(x.sigmoid(), try f.tensor("sigmoid"), Tolerance.transcendental, "sigmoid")
        expectClose(x.tanh(), try f.tensor("tanh"), Tolerance.transcendental, "tanh")
        expectClose(x.exp(), try f.tensor("exp"), Tolerance.transcendental, "exp")
        expectClose(x.hardSigmoid(), try f.tensor("hardsigmoid"), Tolerance.rounding, "hardsigmoid")
        expectClose(x.hardSwish(), try f.tensor("hardswish"), Tolerance.rounding, "hardswish")
        expectClose(x.hardSigmoid(alpha: 0.2, beta: 0.5), try f.tensor("hardsigmoid_onnx"), Tolerance.rounding,
                    "hardsigmoid onnx")
    }

    /// Fixture: `softmax()`: x [2,7,17]·3, torch.softmax over each dim; big [3,33]·1000 over dim 1.
    @Test func softmaxEveryDimension() throws {
        let f = try Fixtures.open("ops_softmax.safetensors")
        let x = try f.tensor("x")
        for d in 0..<3 { expectClose(x.softmax(dim: d), try f.tensor("dim\(d)"), Tolerance.transcendental, "softmax \(d)") }
        expectClose(x.softmax(dim: -1), try f.tensor("dim2"), Tolerance.transcendental, "softmax -1")
        let big = try f.tensor("big").softmax(dim: 1)
        #expect(big.scalars.allSatisfy { $0.isFinite })
        expectClose(big, try f.tensor("big_dim1"), Tolerance.transcendental, "softmax of large values")
    }

    /// Fixture: `normalization()`: F.layer_norm over (33,) with affine and over (7, 33) without,
    /// F.group_norm with 3 groups (affine, eps 1e-6) and 2 groups (plain), F.batch_norm(training=False,
    /// eps=1e-3), torch.nn.utils.fusion.fuse_conv_bn_weights(eps=1e-3).
    @Test func normalization() throws {
        let f = try Fixtures.open("ops_norm.safetensors")
        let x = try f.tensor("x")
        expectClose(x.layerNorm([33], weight: try f.tensor("w"), bias: try f.tensor("b"), eps: 1e-5),
                    try f.tensor("layer_norm"), Tolerance.normalization, "layer norm")
        expectClose(x.layerNorm([7, 33], eps: 1e-6), try f.tensor("layer_norm_2d"), Tolerance.normalization,
                    "layer norm 2d")
        let g = try f.tensor("g")
        expectClose(g.groupNorm(groups: 3, weight: try f.tensor("gw"), bias: try f.tensor("gb"), eps: 1e-6),
                    try f.tensor("group_norm"), Tolerance.normalization, "group norm")
        expectClose(g.groupNorm(groups: 2), try f.tensor("group_norm_plain"), Tolerance.normalization, "group norm plain")
        let bn = try f.tensor("bx").batchNorm(mean: try f.tensor("mean"), variance: try f.tensor("var"),
                                              weight: try f.tensor("bw"), bias: try f.tensor("bb"), eps: 1e-3)
        expectClose(bn, try f.tensor("batch_norm"), Tolerance.normalization, "batch norm")
        let fused = Tensor.foldBatchNorm(weight: try f.tensor("conv_w"), bias: try f.tensor("conv_b"),
                                         gamma: try f.tensor("cg"), beta: try f.tensor("cbeta"),
                                         mean: try f.tensor("cm"), variance: try f.tensor("cv"), eps: 1e-3)
        expectClose(fused.weight, try f.tensor("fused_w"), Tolerance.normalization, "folded weight")
        expectClose(fused.bias, try f.tensor("fused_b"), Tolerance.normalization, "folded bias")
    }

    /// Fixture: `shapes()`: torch.cat along dims 1, -1, 0; F.pad constant 0.5 (1,2,3,0), zero over
    /// channels (0,0,0,0,1,1), reflect (2,1,3,4), replicate (3,1,0,2), 1-D reflect (6,3) on [2,5,7].
    @Test func catAndPad() throws {
        let f = try Fixtures.open("ops_shape.safetensors")
        let p = try f.tensor("p"), q = try f.tensor("q"), r = try f.tensor("r")
        expectClose(Tensor.cat([p, q, r], dim: 1), try f.tensor("cat1"), Tolerance.exact, "cat 1")
        expectClose(Tensor.cat([p, p.transposed(0, 1).contiguous().transposed(0, 1)], dim: -1), try f.tensor("cat2"),
                    Tolerance.exact, "cat -1")
        expectClose(Tensor.cat([p, p], dim: 0), try f.tensor("cat0"), Tolerance.exact, "cat 0")
        let x = try f.tensor("x")
        expectClose(x.padded([1, 2, 3, 0], mode: .constant(0.5)), try f.tensor("pad_constant"), Tolerance.exact, "pad constant")
        expectClose(x.padded([0, 0, 0, 0, 1, 1]), try f.tensor("pad_zero_channels"), Tolerance.exact, "pad channels")
        expectClose(x.padded([2, 1, 3, 4], mode: .reflect), try f.tensor("pad_reflect"), Tolerance.exact, "pad reflect")
        expectClose(x.padded([3, 1, 0, 2], mode: .replicate), try f.tensor("pad_replicate"), Tolerance.exact, "pad replicate")
        expectClose(x.reshaped([2, 5, 7]).padded([6, 3], mode: .reflect), try f.tensor("pad_reflect_1d"),
                    Tolerance.exact, "pad reflect 1d")
    }

    /// Fixture: `reductions()`: x [2,3,7,5]: x.mean((2,3), keepdim=True), x.mean(0), x.mean(),
    /// x.mean((1,-1)), F.adaptive_avg_pool2d(x, 1); logits [2,19,7,5] with a tie: argmax(1), argmax(3).
    @Test func meanAndArgmax() throws {
        let f = try Fixtures.open("ops_reduce.safetensors")
        let x = try f.tensor("x")
        expectClose(x.mean(dims: [2, 3], keepdim: true), try f.tensor("mean23"), Tolerance.reduction, "mean 2,3")
        expectClose(x.mean(dims: [0]), try f.tensor("mean0"), Tolerance.reduction, "mean 0")
        expectClose(x.mean(), try f.tensor("mean_all"), Tolerance.reduction, "mean all")
        expectClose(x.mean(dims: [1, -1]), try f.tensor("mean13"), Tolerance.reduction, "mean 1,-1")
        expectClose(x.globalAveragePool(), try f.tensor("gap"), Tolerance.reduction, "global average pool")
        let logits = try f.tensor("logits")
        expectClose(logits.argmax(dim: 1), try f.tensor("argmax1"), Tolerance.exact, "argmax 1")
        expectClose(logits.argmax(dim: 3), try f.tensor("argmax3"), Tolerance.exact, "argmax 3")
        #expect(logits.argmax(dim: 1).scalars[0] == 2)  // the planted tie resolves to the first index
    }

    /// Fixture: `pooling()`: F.max_pool2d / F.avg_pool2d with the kernel, stride, padding and ceil_mode
    /// in each key (count_include_pad default True unless `_nopad`).
    @Test func pooling() throws {
        let f = try Fixtures.open("ops_pool.safetensors")
        let x = try f.tensor("x"), y = try f.tensor("y")
        expectClose(x.maxPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1)), try f.tensor("max_k3s2p1"),
                    Tolerance.exact, "max k3s2p1")
        expectClose(y.maxPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true),
                    try f.tensor("max_k3s2p1_ceil"), Tolerance.exact, "max k3s2p1 ceil")
        expectClose(y.maxPool2d(kernel: (2, 2), ceilMode: true), try f.tensor("max_k2_ceil"), Tolerance.exact, "max k2 ceil")
        expectClose(y.avgPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true),
                    try f.tensor("avg_k3s2p1_ceil"), Tolerance.reduction, "avg k3s2p1 ceil")
        expectClose(y.avgPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true, countIncludePad: false),
                    try f.tensor("avg_k3s2p1_ceil_nopad"), Tolerance.reduction, "avg k3s2p1 ceil nopad")
        expectClose(y.avgPool2d(kernel: (2, 2), ceilMode: true), try f.tensor("avg_k2_ceil"), Tolerance.reduction, "avg k2 ceil")
        expectClose(x.avgPool2d(kernel: (3, 3), stride: (1, 1), padding: (1, 1)), try f.tensor("avg_k3s1p1"),
                    Tolerance.reduction, "avg k3s1p1")
        expectClose(x.avgPool2d(kernel: (5, 3), stride: (3, 2), padding: (2, 1)), try f.tensor("avg_k5x3s3x2"),
                    Tolerance.reduction, "avg k5x3")
    }

    /// Fixture: `resize()`: x [1,2,7,5] through F.interpolate(size=…) in modes "nearest", "nearest-exact"
    /// and "bilinear" (align_corners=False), and scale_factor 2 (nearest), 1.5 (bilinear), 0.3 (nearest).
    @Test func resize() throws {
        let f = try Fixtures.open("ops_resize.safetensors")
        let x = try f.tensor("x")
        for (h, w) in [(17, 3), (14, 10), (3, 11), (33, 17), (7, 5), (1, 1)] {
            expectClose(x.interpolate(size: (h, w), mode: .nearest), try f.tensor("nearest_\(h)x\(w)"),
                        Tolerance.exact, "nearest \(h)x\(w)")
            expectClose(x.interpolate(size: (h, w), mode: .nearestExact), try f.tensor("exact_\(h)x\(w)"),
                        Tolerance.exact, "nearest-exact \(h)x\(w)")
            expectClose(x.interpolate(size: (h, w), mode: .bilinear), try f.tensor("bilinear_\(h)x\(w)"),
                        Tolerance.interpolation, "bilinear \(h)x\(w)")
        }
        expectClose(x.interpolate(scaleFactor: 2, mode: .nearest), try f.tensor("nearest_x2"), Tolerance.exact, "nearest x2")
        expectClose(x.interpolate(scaleFactor: 1.5, mode: .bilinear), try f.tensor("bilinear_x1.5"), Tolerance.interpolation,
                    "bilinear x1.5")
        expectClose(x.interpolate(scaleFactor: 0.3, mode: .nearest), try f.tensor("nearest_x0.3"), Tolerance.exact,
                    "nearest x0.3")
    }

    /// Fixture: `images()`: a random HWC uint8 image through torchvision's to_tensor + normalize
    /// (ImageNet mean/std), and a [-1, 1] tensor through diffusers' postprocess + numpy_to_pil.
    @Test func imageConversion() throws {
        let f = try Fixtures.open("ops_image.safetensors")
        let bytes = try f.tensor("rgb").scalars.map { UInt8($0) }
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        let t = bytes.withUnsafeBufferPointer { Tensor(rgb: $0, height: 7, width: 5, mean: mean, std: std) }
        expectClose(t, try f.tensor("normalized"), Tolerance.rounding, "rgb to tensor")
        let back = try f.tensor("decoded").rgbBytes(mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
        #expect(back == (try f.tensor("decoded_rgb").scalars.map { UInt8($0) }))
        // Normalising and converting back returns the original bytes.
        #expect(t.rgbBytes(mean: mean, std: std) == bytes)
    }
}
