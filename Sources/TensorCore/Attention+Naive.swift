extension Tensor {
    /// Reference for `scaledDotProductAttention`: the full score matrix per head, softmax in Double.
    /// Layout: q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv].
    public static func naiveScaledDotProductAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool = false,
                                                      scale: Float? = nil) -> Tensor {
        let b = q.shape[0], h = q.shape[1], lq = q.shape[2], d = q.shape[3], lk = k.shape[2], dv = v.shape[3]
        let sc = Double(scale ?? 1 / Float(d).squareRoot())
        let qs = q.scalars, ks = k.scalars, vs = v.scalars
        var out = [Float](repeating: 0, count: b * h * lq * dv)
        var scores = [Double](repeating: 0, count: lk)
        for bh in 0..<(b * h) {
            for i in 0..<lq {
                var m = -Double.infinity
                for j in 0..<lk {
                    if causal && j > i {
                        scores[j] = -.infinity
                        continue
                    }
                    var s = 0.0
                    for c in 0..<d { s += Double(qs[(bh * lq + i) * d + c]) * Double(ks[(bh * lk + j) * d + c]) }
                    scores[j] = s * sc
                    m = max(m, scores[j])
                }
                var total = 0.0
                for j in 0..<lk {
                    scores[j] = scores[j] == -.infinity ? 0 : _exp(scores[j] - m)
                    total += scores[j]
                }
                for c in 0..<dv {
                    var acc = 0.0
                    for j in 0..<lk { acc += scores[j] * Double(vs[(bh * lk + j) * dv + c]) }
                    out[(bh * lq + i) * dv + c] = Float(acc / total)
                }
            }
        }
        return Tensor(shape: [b, h, lq, dv], scalars: out)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _exp(_ x: Double) -> Double { Glibc.exp(x) }
#else
import Darwin
@inline(__always) private func _exp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
