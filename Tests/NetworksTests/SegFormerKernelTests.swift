import Foundation
import Testing
import TensorCore
@testable import Networks

/// Each token-layout kernel against a plain loop written from the PyTorch definition.
@Suite struct SegFormerKernelTests {
    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
    }

    static func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) } }

    @Test func attentionMatchesNaive() {
        let lq = 70, lk = 33, heads = 2, d = 8, c = heads * d
        let q = Self.random(lq * c, seed: 1).map { $0 * 3 }, kv = Self.random(lk * 2 * c, seed: 2)
        var out = [Float](repeating: 0, count: lq * c)
        q.withUnsafeBufferPointer { qp in
            kv.withUnsafeBufferPointer { kp in
                out.withUnsafeMutableBufferPointer { op in
                    SegFormerKernels.attention(q: qp.baseAddress!, ldq: c, k: kp.baseAddress!, ldk: 2 * c,
                                               v: kp.baseAddress! + c, ldv: 2 * c, queries: lq, keys: lk, heads: heads,
                                               headDim: d, out: op.baseAddress!, ldo: c)
                }
            }
        }
        var want = [Float](repeating: 0, count: lq * c)
        for h in 0..<heads {
            for i in 0..<lq {
                var s = (0..<lk).map { j in
                    (0..<d).reduce(Float(0)) { $0 + q[i * c + h * d + $1] * kv[j * 2 * c + h * d + $1] } / Float(d).squareRoot()
                }
                let m = s.max()!
                s = s.map { Foundation.exp($0 - m) }
                let total = s.reduce(0, +)
                for e in 0..<d {
                    want[i * c + h * d + e] = (0..<lk).reduce(Float(0)) { $0 + s[$1] * kv[$1 * 2 * c + c + h * d + e] } / total
                }
            }
        }
        #expect(Self.maxDiff(out, want) < 1e-5)
    }

    @Test(arguments: [(3, 2, 1), (4, 4, 0), (7, 4, 3)])
    func tokenConvolutionMatchesNaive(kernel k: Int, stride s: Int, padding p: Int) {
        let h = 11, w = 13, cin = 3, cout = 5
        let input = Self.random(h * w * cin, seed: 3)  // NHWC
        let weight = Self.random(cout * cin * k * k, seed: 4)  // PyTorch [Cout, Cin, k, k]
        let bias = Self.random(cout, seed: 5)
        let permuted = Tensor(shape: [cout, cin, k, k], scalars: weight).permuted([0, 2, 3, 1]).contiguous().scalars
        let ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1
        var out = [Float](repeating: 0, count: ho * wo * cout)
        input.withUnsafeBufferPointer { ip in
            permuted.withUnsafeBufferPointer { wp in
                bias.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { op in
                        SegFormerKernels.conv2dTokens(ip.baseAddress!, height: h, width: w, channels: cin, kernel: k,
                                                      stride: s, padding: p, weight: wp.baseAddress!, bias: bp.baseAddress!,
                                                      outChannels: cout, out: op.baseAddress!)
                    }
                }
            }
        }
        var want = [Float](repeating: 0, count: ho * wo * cout)
        for oy in 0..<ho { for ox in 0..<wo { for o in 0..<cout {
            var acc = bias[o]
            for c in 0..<cin { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * s - p + ky, ix = ox * s - p + kx
                if iy >= 0 && iy < h && ix >= 0 && ix < w {
                    acc += weight[((o * cin + c) * k + ky) * k + kx] * input[(iy * w + ix) * cin + c]
                }
            } } }
            want[(oy * wo + ox) * cout + o] = acc
        } } }
        #expect(Self.maxDiff(out, want) < 1e-5)
    }

    @Test func depthwiseGELUMatchesNaive() {
        let h = 6, w = 9, c = 11
        let input = Self.random(h * w * c, seed: 6).map { $0 * 4 }
        let weight = Self.random(c * 9, seed: 7)  // PyTorch [C, 1, 3, 3]
        let bias = Self.random(c, seed: 8)
        let taps = Tensor(shape: [c, 9], scalars: weight).transposed(0, 1).contiguous().scalars
        var out = [Float](repeating: 0, count: h * w * c)
        input.withUnsafeBufferPointer { ip in
            taps.withUnsafeBufferPointer { wp in
                bias.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { op in
                        SegFormerKernels.depthwise3x3GELU(ip.baseAddress!, height: h, width: w, channels: c,
                                                          weight: wp.baseAddress!, bias: bp.baseAddress!, out: op.baseAddress!)
                    }
                }
            }
        }
        var want = [Float](repeating: 0, count: h * w * c)
        for y in 0..<h { for x in 0..<w { for ch in 0..<c {
            var acc = Double(bias[ch])
            for ky in 0..<3 { for kx in 0..<3 {
                let iy = y + ky - 1, ix = x + kx - 1
                if iy >= 0 && iy < h && ix >= 0 && ix < w {
                    acc += Double(weight[ch * 9 + ky * 3 + kx]) * Double(input[(iy * w + ix) * c + ch])
                }
            } }
            want[(y * w + x) * c + ch] = Float(0.5 * acc * (1 + erf(acc / 2.0.squareRoot())))
        } } }
        #expect(Self.maxDiff(out, want) < 1e-5)
    }

    @Test func vectorExpAndGELUAreAccurate() {
        let xs = stride(from: Float(-30), through: 30, by: 0.0137).map { $0 }
        var worstExp: Float = 0, worstGELU: Float = 0
        for i in stride(from: 0, to: xs.count - 8, by: 8) {
            let v = SIMD8<Float>((0..<8).map { xs[i + $0] })
            let shifted = v - 10
            let e = SegFormerKernels.exp8(shifted), g = SegFormerKernels.gelu8(v)
            for l in 0..<8 {
                let x = Double(v[l])
                let wantExp = Foundation.exp(Double(shifted[l]))
                worstExp = max(worstExp, Float(abs(Double(e[l]) - wantExp) / wantExp))
                worstGELU = max(worstGELU, Float(abs(Double(g[l]) - 0.5 * x * (1 + erf(x / 2.0.squareRoot())))))
            }
        }
        #expect(worstExp < 3e-7)  // relative, a few float ulps
        #expect(worstGELU < 2e-6)  // absolute: erf approximation error 1.5e-7 times |x| ≤ 30, plus rounding
    }
}
