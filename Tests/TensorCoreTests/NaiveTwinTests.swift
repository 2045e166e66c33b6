import Testing
@testable import TensorCore

/// Every optimised op against its plain twin in `Naive`, on odd sizes (1, 3, 7, 17, 33) and on
/// non-contiguous inputs, including sizes large enough to take the parallel paths.
@Suite struct NaiveTwinTests {
    /// FastMath against libm: exp to 2 ulp over its whole range, erf to 4e-7 absolute.
    @Test func fastMathAgainstLibm() {
        var worstExp: Float = 0, worstErf: Float = 0
        for i in -200_000...200_000 {
            let x = Float(i) * 4.5e-4  // [-90, 90]
            let want = exp(x)
            if want.isNormal { worstExp = max(worstExp, abs(FastMath.exp(x) - want) / want) }
            worstErf = max(worstErf, abs(FastMath.erf(x / 15) - erf(x / 15)))
        }
        #expect(worstExp <= 2 * Float.ulpOfOne)
        #expect(worstErf <= 4e-7)
        #expect(FastMath.exp(0) == 1)
        #expect(FastMath.exp(-.infinity) == 0)
        #expect(FastMath.exp(.infinity) == .infinity)
        #expect(FastMath.exp(-200) == 0)
        #expect(FastMath.exp(.nan).isNaN)
        #expect(FastMath.erf(0) == 0 && FastMath.erf(10) == 1 && FastMath.erf(-10) == -1)
    }

    /// A non-contiguous view with the same shape and values as `t` (stored transposed).
    func strided(_ t: Tensor) -> Tensor {
        let r = t.rank
        guard r >= 2 else { return t }
        let swapped = t.transposed(0, r - 1).contiguous().transposed(0, r - 1)
        #expect(!swapped.isContiguous || t.shape[0] == 1 || t.shape[r - 1] == 1)
        return swapped
    }

    @Test func broadcastArithmetic() {
        let cases: [([Int], [Int])] = [
            ([3, 7], [3, 7]), ([3, 1, 7], [1, 17, 1]), ([2, 3, 17, 33], [3, 1, 1]), ([1], [7, 3]),
            ([17, 33], []), ([2, 1, 3, 1], [1, 7, 1, 5]), ([4, 33, 257], [257]),
        ]
        for (i, (sa, sb)) in cases.enumerated() {
            let a = randomTensor(sa, seed: UInt64(i)), b = randomTensor(sb, seed: UInt64(i + 50)) + 2
            for (x, y) in [(a, b), (strided(a), strided(b))] {
                expectClose(x + y, Naive.broadcast(x, y, +), Tolerance.exact, "add \(sa) \(sb)")
                expectClose(x - y, Naive.broadcast(x, y, -), Tolerance.exact, "sub \(sa) \(sb)")
                expectClose(y * x, Naive.broadcast(y, x, *), Tolerance.exact, "mul \(sa) \(sb)")
                expectClose(x / y, Naive.broadcast(x, y, /), Tolerance.exact, "div \(sa) \(sb)")
            }
        }
        let a = randomTensor([3, 7])
        #expect((2 - a).scalars == a.scalars.map { 2 - $0 })
        #expect((a / 4).scalars == a.scalars.map { $0 / 4 })
        #expect((-a).scalars == a.scalars.map { -$0 })
    }

    @Test func softmax() {
        for shape in [[1], [7], [3, 17], [2, 33, 7], [1, 3, 1, 17], [4, 8, 1031]] {
            let x = randomTensor(shape, scale: 8)
            for d in 0..<shape.count {
                expectClose(x.softmax(dim: d), Naive.softmax(x, dim: d), Tolerance.twin, "softmax \(shape) dim \(d)")
                expectClose(strided(x).softmax(dim: d), Naive.softmax(x, dim: d), Tolerance.twin, "strided softmax \(shape)")
            }
        }
    }

    @Test func layerNorm() {
        for (shape, k) in [([1, 1], 1), ([3, 17], 1), ([2, 7, 33], 1), ([2, 7, 33], 2), ([1024, 33], 1)] {
            let x = randomTensor(shape, scale: 3) + 5
            let ns = Array(shape.suffix(k))
            let w = randomTensor(ns, seed: 3), b = randomTensor(ns, seed: 4)
            expectClose(x.layerNorm(ns, weight: w, bias: b), Naive.layerNorm(x, ns, weight: w, bias: b, eps: 1e-5),
                        Tolerance.twin, "layer norm \(shape)")
            expectClose(strided(x).layerNorm(ns, eps: 1e-6), Naive.layerNorm(x, ns, weight: nil, bias: nil, eps: 1e-6),
                        Tolerance.twin, "strided layer norm \(shape)")
        }
    }

    @Test func groupNorm() {
        for (shape, groups) in [([1, 1, 1, 1], 1), ([2, 6, 7, 3], 3), ([1, 33, 17], 11), ([2, 4, 33, 17], 2), ([1, 8, 7], 8)] {
            let x = randomTensor(shape, scale: 2) - 1
            let w = randomTensor([shape[1]], seed: 5), b = randomTensor([shape[1]], seed: 6)
            expectClose(x.groupNorm(groups: groups, weight: w, bias: b), Naive.groupNorm(x, groups: groups, weight: w, bias: b, eps: 1e-5),
                        Tolerance.twin, "group norm \(shape)")
            expectClose(strided(x).groupNorm(groups: groups, eps: 1e-6), Naive.groupNorm(x, groups: groups, weight: nil, bias: nil, eps: 1e-6),
                        Tolerance.twin, "strided group norm \(shape)")
        }
    }

    /// conv(x, folded weight, folded bias) equals batchNorm(conv(x, weight, bias)).
    @Test func foldedBatchNormMatchesConvThenBatchNorm() {
        let x = randomTensor([2, 3, 17, 7]), w = randomTensor([5, 3, 3, 3], seed: 1), b = randomTensor([5], seed: 2)
        let mean = randomTensor([5], seed: 3), variance = randomTensor([5], seed: 4) * 0.4 + 0.5
        let gamma = randomTensor([5], seed: 5), beta = randomTensor([5], seed: 6)
        let reference = Tensor.conv2d(x, weight: w, bias: b, padding: 1)
            .batchNorm(mean: mean, variance: variance, weight: gamma, bias: beta, eps: 1e-3)
        let folded = Tensor.foldBatchNorm(weight: w, bias: b, gamma: gamma, beta: beta, mean: mean, variance: variance,
                                          eps: 1e-3)
        expectClose(Tensor.conv2d(x, weight: folded.weight, bias: folded.bias, padding: 1), reference,
                    Tolerance.normalization, "folded conv")
        let noBias = Tensor.foldBatchNorm(weight: w, bias: nil, gamma: nil, beta: nil, mean: mean, variance: variance)
        expectClose(Tensor.conv2d(x, weight: noBias.weight, bias: noBias.bias),
                    Tensor.conv2d(x, weight: w).batchNorm(mean: mean, variance: variance), Tolerance.normalization,
                    "folded conv without affine")
    }

    @Test func resize() {
        let x = randomTensor([2, 3, 7, 17])
        for size in [(1, 1), (3, 33), (17, 7), (14, 34), (7, 17), (33, 3), (64, 96)] {
            for mode in [Tensor.InterpolationMode.nearest, .nearestExact, .bilinear] {
                expectClose(x.interpolate(size: size, mode: mode), Naive.interpolate(x, size: size, mode: mode),
                            Tolerance.twin, "\(mode) \(size)")
                expectClose(strided(x).interpolate(size: size, mode: mode), Naive.interpolate(x, size: size, mode: mode),
                            Tolerance.twin, "strided \(mode) \(size)")
            }
        }
    }

    @Test func reductions() {
        let x = randomTensor([3, 7, 17, 5])
        for (dims, keep) in [([1], false), ([0, 3], true), ([-1], false), ([2, 1], true), ([0, 1, 2, 3], false)] {
            expectClose(x.mean(dims: dims, keepdim: keep), Naive.mean(x, dims: dims, keepdim: keep), Tolerance.twin,
                        "mean \(dims)")
            expectClose(strided(x).mean(dims: dims, keepdim: keep), Naive.mean(x, dims: dims, keepdim: keep),
                        Tolerance.twin, "strided mean \(dims)")
        }
        let logits = randomTensor([2, 19, 33, 17])
        for d in 0..<4 {
            expectClose(logits.argmax(dim: d), Naive.argmax(logits, dim: d), Tolerance.exact, "argmax \(d)")
            expectClose(strided(logits).argmax(dim: d), Naive.argmax(logits, dim: d), Tolerance.exact, "strided argmax \(d)")
        }
        #expect(logits.argmax(dim: 1, keepdim: true).shape == [2, 1, 33, 17])
        let withNaN = Tensor(shape: [1, 3], scalars: [1, .nan, 5])
        #expect(withNaN.argmax(dim: 1).scalars == [1])
    }

    @Test func pooling() {
        let x = randomTensor([2, 3, 17, 33])
        let configs: [((Int, Int), (Int, Int), (Int, Int), Bool)] = [
            ((3, 3), (2, 2), (1, 1), false), ((3, 3), (2, 2), (1, 1), true), ((2, 2), (2, 2), (0, 0), true),
            ((7, 3), (3, 1), (3, 1), true), ((1, 1), (1, 1), (0, 0), false), ((17, 33), (17, 33), (0, 0), false),
        ]
        for (k, s, p, ceil) in configs {
            expectClose(x.maxPool2d(kernel: k, stride: s, padding: p, ceilMode: ceil),
                        Naive.pool2d(x, kernel: k, stride: s, padding: p, ceilMode: ceil, average: false),
                        Tolerance.exact, "max \(k) \(s) \(p) \(ceil)")
            for include in [true, false] {
                expectClose(strided(x).avgPool2d(kernel: k, stride: s, padding: p, ceilMode: ceil, countIncludePad: include),
                            Naive.pool2d(x, kernel: k, stride: s, padding: p, ceilMode: ceil, average: true,
                                         countIncludePad: include),
                            Tolerance.twin, "avg \(k) \(s) \(p) \(ceil) \(include)")
            }
        }
    }

    @Test func padding() {
        let x = randomTensor([2, 3, 7, 17])
        for pads in [[1, 2], [3, 0, 1, 6], [0, 0, 2, 2], [16, 16, 6, 6]] {
            for mode in [Tensor.PaddingMode.constant(0), .constant(-1.5), .reflect, .replicate] {
                expectClose(strided(x).padded(pads, mode: mode), Naive.padded(x, pads, mode: mode), Tolerance.exact,
                            "pad \(pads) \(mode)")
            }
        }
        expectClose(x.padded([1, 1, 0, 0, 2, 0, 0, 1]), Naive.padded(x, [1, 1, 0, 0, 2, 0, 0, 1], mode: .constant(0)),
                    Tolerance.exact, "pad every dim")
    }

    @Test func catSplitAndChunk() {
        let a = randomTensor([2, 3, 7]), b = randomTensor([2, 5, 7], seed: 9)
        let c = Tensor.cat([a, strided(b)], dim: 1)
        #expect(c.shape == [2, 8, 7])
        let parts = c.split(sizes: [3, 5], dim: 1)
        #expect(parts[0].scalars == a.scalars)
        #expect(parts[1].scalars == b.scalars)
        #expect(c.split(3, dim: 1).map(\.shape) == [[2, 3, 7], [2, 3, 7], [2, 2, 7]])
        // torch.chunk: 8 in 3 → sizes 3, 3, 2; 7 in 4 → 2, 2, 2, 1; 3 in 5 → 1, 1, 1.
        #expect(c.chunked(3, dim: 1).map { $0.shape[1] } == [3, 3, 2])
        #expect(c.chunked(4, dim: -1).map { $0.shape[2] } == [2, 2, 2, 1])
        #expect(a.chunked(5, dim: 1).map { $0.shape[1] } == [1, 1, 1])
        #expect(Tensor.cat(c.chunked(3, dim: 1), dim: 1).scalars == c.scalars)
        let big = randomTensor([4, 33, 1025])
        #expect(Tensor.cat(big.chunked(2, dim: 2), dim: 2).scalars == big.scalars)
    }

    @Test func elementwiseLargeTensorsTakeParallelPath() {
        let x = randomTensor([3, 17, 33, 65], scale: 6)
        let v = x.scalars
        #expect(x.relu().scalars == v.map { max($0, 0) })
        #expect(x.clamp(min: -1).scalars == v.map { max($0, -1) })
        #expect((x * 2 + 1).scalars == v.map { $0 * 2 + 1 })
        #expect((x + x).scalars == v.map { $0 + $0 })
        // Rows longer than one task's piece, with a broadcast operand.
        let a = randomTensor([2, 40001]), b = randomTensor([1, 40001], seed: 3)
        expectClose(a - b, Naive.broadcast(a, b, -), Tolerance.exact, "long rows")
        expectClose(b - strided(a), Naive.broadcast(b, a, -), Tolerance.exact, "long rows strided")
        let logits = randomTensor([2, 3, 70, 71])
        expectClose(logits.argmax(dim: 1), Naive.argmax(logits, dim: 1), Tolerance.exact, "argmax of a large map")
        expectClose(x.sigmoid(), Tensor(shape: x.shape, scalars: v.map { 1 / (1 + exp(-$0)) }), Tolerance.transcendental,
                    "sigmoid")
    }
}

import Foundation
