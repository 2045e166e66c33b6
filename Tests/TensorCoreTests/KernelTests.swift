import Testing
@testable import TensorCore

/// Deterministic uniform values in [-1, 1) (SplitMix64), so failures reproduce.
struct TestRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 23) - 1
    }
    mutating func tensor(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: (0..<Tensor.elementCount(shape)).map { _ in next() })
    }
}

/// Largest absolute difference divided by the reference's largest magnitude (at least 1).
func normalizedError(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "compared shapes \(a.shape) and \(b.shape) differ")
    let x = a.scalars, y = b.scalars
    var diff: Float = 0, mag: Float = 1
    for i in 0..<x.count {
        diff = max(diff, abs(x[i] - y[i]))
        mag = max(mag, abs(y[i]))
    }
    return diff / mag
}

enum KernelTolerance {
    /// SGEMM and direct kernels sum in a different order than the Double references: a few float ulps per term.
    static let gemm: Float = 1e-5
    /// Winograd F(4x4) multiplies by transform constants up to 8 and 1/24, amplifying rounding ~100x.
    static let winograd4: Float = 5e-5
    /// Winograd F(2x2) transforms only add and halve: rounding stays close to GEMM's.
    static let winograd2: Float = 1e-5
    /// Attention's 2^x polynomial has ~2e-7 relative error on top of GEMM rounding.
    static let attention: Float = 2e-6
}

@Suite struct MatMulTests {
    @Test func matmulMatchesNaiveWithBroadcastTransposesAndVectors() {
        var r = TestRandom(1)
        let cases: [([Int], [Int])] = [([5, 7], [7, 3]), ([3, 1, 5, 7], [2, 7, 4]), ([7], [3, 7, 2]), ([2, 5, 7], [7]),
                                       ([1, 1], [1, 9]), ([4, 33, 65], [65, 17])]
        for (sa, sb) in cases {
            let a = r.tensor(sa), b = r.tensor(sb)
            #expect(normalizedError(Tensor.matmul(a, b), Tensor.naiveMatmul(a, b)) < KernelTolerance.gemm, "\(sa) · \(sb)")
        }
        // Transposed views go to SGEMM as such.
        let a = r.tensor([3, 9, 6]).transposed(1, 2), b = r.tensor([3, 5, 9]).transposed(1, 2)
        #expect(normalizedError(Tensor.bmm(a, b), Tensor.naiveMatmul(a, b)) < KernelTolerance.gemm)
        let big = r.tensor([9, 300, 40]), w = r.tensor([40, 30])
        #expect(normalizedError(big.matmul(w), Tensor.naiveMatmul(big, w)) < KernelTolerance.gemm)
    }

    @Test func linearOnLeadingDims() {
        var r = TestRandom(2)
        let x = r.tensor([3, 5, 7]), w = r.tensor([9, 7]), b = r.tensor([9])
        let y = Tensor.linear(x, weight: w, bias: b)
        #expect(y.shape == [3, 5, 9])
        #expect(normalizedError(y, Tensor.naiveLinear(x, weight: w, bias: b)) < KernelTolerance.gemm)
        #expect(normalizedError(Tensor.linear(x, weight: w), Tensor.naiveLinear(x, weight: w)) < KernelTolerance.gemm)
    }
}

@Suite struct ConvTests {
    struct Case: CustomStringConvertible {
        var n = 3, cin = 5, cout = 7, h = 7, w = 9, k = (3, 3)
        var stride = (1, 1), padding = (1, 1), dilation = (1, 1), groups = 1
        var description: String { "n\(n) \(cin)->\(cout) \(h)x\(w) k\(k) s\(stride) p\(padding) d\(dilation) g\(groups)" }
    }

    static let cases: [Case] = [
        Case(),
        Case(stride: (2, 2), padding: (0, 0)),
        Case(stride: (2, 2), padding: (2, 2)),
        Case(k: (3, 5), stride: (1, 2), padding: (2, 1)),
        Case(dilation: (2, 2)),
        Case(padding: (2, 2), dilation: (2, 1)),
        Case(cin: 6, cout: 4, groups: 2),
        Case(cin: 5, cout: 5, groups: 5),  // depthwise
        Case(cin: 5, cout: 5, stride: (2, 2), groups: 5),
        Case(cin: 5, cout: 5, padding: (0, 0), groups: 5),
        Case(cin: 5, cout: 5, padding: (2, 2), groups: 5),
        Case(cin: 3, cout: 6, k: (5, 5), padding: (2, 2), dilation: (1, 2), groups: 3),
        Case(cin: 5, cout: 5, h: 2, w: 1, groups: 5),
        Case(k: (1, 1), padding: (0, 0)),  // pointwise GEMM
        Case(cin: 6, cout: 4, k: (1, 1), padding: (0, 0), groups: 2),
        Case(k: (1, 1), stride: (2, 2), padding: (0, 0)),
        Case(n: 1, cin: 3, cout: 8, h: 13, w: 11, k: (7, 7), stride: (2, 2), padding: (3, 3)),
    ]

    @Test(arguments: cases) func convMatchesNaive(_ c: Case) {
        var r = TestRandom(3)
        let x = r.tensor([c.n, c.cin, c.h, c.w]), w = r.tensor([c.cout, c.cin / c.groups, c.k.0, c.k.1])
        let b = r.tensor([c.cout])
        let ref = Tensor.naiveConv2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding,
                                     dilation: c.dilation, groups: c.groups)
        let fast = Tensor.conv2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding,
                                 dilation: c.dilation, groups: c.groups)
        #expect(normalizedError(fast, ref) < KernelTolerance.gemm)
        // im2col with column tiles smaller than a row.
        let tiled = Tensor.conv2d(x, Conv2DWeights(weight: w, bias: b, stride: c.stride, padding: c.padding,
                                                   dilation: c.dilation, groups: c.groups, winograd: false),
                                  im2colBytes: 4 * 5 * c.cin * c.k.0 * c.k.1, winogradBytes: 0)
        #expect(normalizedError(tiled, ref) < KernelTolerance.gemm)
    }

    @Test(arguments: [(4, 0), (4, 1), (4, 2), (2, 0), (2, 1), (2, 2)])
    func winogradMatchesNaive(tile: Int, padding: Int) {
        var r = TestRandom(4)
        let x = r.tensor([3, 17, 7, 9]), w = r.tensor([19, 17, 3, 3]), b = r.tensor([19])
        let ref = Tensor.naiveConv2d(x, weight: w, bias: b, padding: (padding, padding))
        let prepared = Conv2DWeights(weight: w, bias: b, padding: (padding, padding), winogradTile: tile)
        #expect(prepared.winograd?.m == tile)
        let tol = tile == 4 ? KernelTolerance.winograd4 : KernelTolerance.winograd2
        #expect(normalizedError(Tensor.conv2d(x, prepared), ref) < tol)
        // Blocks of 5 tiles, so blocks straddle images.
        let blocked = Tensor.conv2d(x, prepared, im2colBytes: ConvWorkspace.im2colBytes,
                                    winogradBytes: 5 * 4 * (tile + 2) * (tile + 2) * (17 + 19))
        #expect(normalizedError(blocked, ref) < tol)
        // Keeping only the Winograd form gives the same result, without the plain copy.
        let lean = Conv2DWeights(weight: w, bias: b, padding: (padding, padding), winogradTile: tile, keepWeight: false)
        #expect(lean.weight.count == 0 && lean.weightShape == w.shape)
        #expect(Tensor.conv2d(x, lean).scalars == Tensor.conv2d(x, prepared).scalars)
        // A layer without a Winograd form keeps its weights whatever `keepWeight` says.
        let strided = Conv2DWeights(weight: w, bias: b, stride: (2, 2), padding: (padding, padding), keepWeight: false)
        #expect(strided.winograd == nil && strided.weight.count == w.count)
    }

    @Test func convTransposeMatchesNaive() {
        var r = TestRandom(5)
        typealias P = (cin: Int, coutG: Int, k: Int, s: Int, p: Int, op: Int, g: Int, d: Int)
        let cases: [P] = [(5, 7, 2, 2, 0, 0, 1, 1), (5, 3, 3, 2, 1, 1, 1, 1), (6, 2, 3, 1, 1, 0, 2, 1),
                          (4, 3, 3, 2, 2, 0, 1, 2), (3, 4, 4, 3, 0, 2, 1, 1)]
        for c in cases {
            let x = r.tensor([3, c.cin, 7, 9]), w = r.tensor([c.cin, c.coutG, c.k, c.k]), b = r.tensor([c.coutG * c.g])
            let fast = Tensor.convTranspose2d(x, weight: w, bias: b, stride: c.s, padding: c.p, outputPadding: c.op,
                                              groups: c.g, dilation: c.d)
            let ref = Tensor.naiveConvTranspose2d(x, weight: w, bias: b, stride: (c.s, c.s), padding: (c.p, c.p),
                                                  outputPadding: (c.op, c.op), groups: c.g, dilation: (c.d, c.d))
            #expect(normalizedError(fast, ref) < KernelTolerance.gemm, "\(c)")
        }
    }
}

@Suite struct AttentionTests {
    @Test(arguments: [false, true])
    func blockedAttentionMatchesNaive(causal: Bool) {
        var r = TestRandom(6)
        for (lq, lk) in [(37, 53), (77, 77), (16, 5), (1, 40)] where !causal || lq <= lk {
            let q = r.tensor([3, 2, lq, 8]), k = r.tensor([3, 2, lk, 8]), v = r.tensor([3, 2, lk, 5])
            let ref = Tensor.naiveScaledDotProductAttention(q, k, v, causal: causal)
            let fast = Tensor.attention(q, k, v, causal: causal, scale: nil, queryBlock: 16, keyBlock: 24)
            #expect(normalizedError(fast, ref) < KernelTolerance.attention, "\(lq)x\(lk)")
            let whole = Tensor.scaledDotProductAttention(q, k, v, causal: causal)
            #expect(normalizedError(whole, ref) < KernelTolerance.attention)
        }
    }

    @Test func stridedHeadsAndScale() {
        var r = TestRandom(7)
        // Heads split off [B, L, H·D] projections: [B, L, H, D] → [B, H, L, D] views.
        let q = r.tensor([2, 45, 3, 16]).permuted([0, 2, 1, 3]), k = r.tensor([2, 30, 3, 16]).permuted([0, 2, 1, 3])
        let v = r.tensor([2, 30, 3, 16]).permuted([0, 2, 1, 3])
        let ref = Tensor.naiveScaledDotProductAttention(q, k, v, scale: 0.3)
        let fast = Tensor.attention(q, k, v, causal: false, scale: 0.3, queryBlock: 8, keyBlock: 7)
        #expect(normalizedError(fast, ref) < KernelTolerance.attention)
        // Large score spread: the online maximum must keep every exponent in range.
        let big = Tensor.scaledDotProductAttention(q, k, v, scale: 40)
        #expect(normalizedError(big, Tensor.naiveScaledDotProductAttention(q, k, v, scale: 40)) < KernelTolerance.attention * 10)
    }
}
