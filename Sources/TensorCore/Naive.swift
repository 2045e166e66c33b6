import Foundation

/// Plain reference implementations of the optimised ops: one element at a time, by multi-index,
/// accumulating in Double. Slow on purpose; tests compare the fast paths against them.
public enum Naive {
    /// `f` over the broadcast shape of `a` and `b`.
    public static func broadcast(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        let shape = Tensor.broadcastShape(a.shape, b.shape)
        return build(shape) { i in f(a.element(broadcasting: i), b.element(broadcasting: i)) }
    }

    public static func softmax(_ x: Tensor, dim: Int) -> Tensor {
        let d = x.normalized(dim)
        var lineShape = x.shape
        lineShape[d] = 1
        return byGroups(x.shape, groups: allIndices(lineShape).map { start in
            (0..<x.shape[d]).map { k in
                var i = start
                i[d] = k
                return i
            }
        }) { line in
            let v = line.map { Double(x.element($0)) }
            let m = v.max() ?? 0
            let s = v.reduce(0) { $0 + Foundation.exp($1 - m) }
            return v.map { Float(Foundation.exp($0 - m) / s) }
        }
    }

    public static func layerNorm(_ x: Tensor, _ normalizedShape: [Int], weight: Tensor?, bias: Tensor?,
                                 eps: Float) -> Tensor {
        let k = normalizedShape.count, lead = Array(x.shape.prefix(x.rank - k))
        let tails = allIndices(normalizedShape)
        return byGroups(x.shape, groups: allIndices(lead).map { head in tails.map { head + $0 } }) { group in
            let (mean, variance) = moments(group.map { Double(x.element($0)) })
            return zip(group, tails).map { i, tail in
                var y = (Double(x.element(i)) - mean) / (variance + Double(eps)).squareRoot()
                if let weight { y *= Double(weight.element(tail)) }
                if let bias { y += Double(bias.element(tail)) }
                return Float(y)
            }
        }
    }

    public static func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let cpg = x.shape[1] / groups, spatial = allIndices(Array(x.shape[2...]))
        let members = (0..<x.shape[0]).flatMap { n in
            (0..<groups).map { g in ((g * cpg)..<((g + 1) * cpg)).flatMap { c in spatial.map { [n, c] + $0 } } }
        }
        return byGroups(x.shape, groups: members) { group in
            let (mean, variance) = moments(group.map { Double(x.element($0)) })
            return group.map { i in
                var y = (Double(x.element(i)) - mean) / (variance + Double(eps)).squareRoot()
                if let weight { y *= Double(weight.element([i[1]])) }
                if let bias { y += Double(bias.element([i[1]])) }
                return Float(y)
            }
        }
    }

    /// Resize by the source-coordinate formulas of `torch.nn.functional.interpolate`, per output pixel.
    public static func interpolate(_ x: Tensor, size: (Int, Int), mode: Tensor.InterpolationMode) -> Tensor {
        let h = x.shape[2], w = x.shape[3]
        let sy = Float(h) / Float(size.0), sx = Float(w) / Float(size.1)
        return build([x.shape[0], x.shape[1], size.0, size.1]) { i in
            func nearest(_ o: Int, _ n: Int, _ outN: Int, _ s: Float, exact: Bool) -> Int {
                if n == outN { return o }
                return min(Int(((Float(o) + (exact ? 0.5 : 0)) * s).rounded(.down)), n - 1)
            }
            switch mode {
            case .nearest, .nearestExact:
                let exact = mode == .nearestExact
                return x.element([i[0], i[1], nearest(i[2], h, size.0, sy, exact: exact),
                                  nearest(i[3], w, size.1, sx, exact: exact)])
            case .bilinear:
                func taps(_ o: Int, _ n: Int, _ outN: Int, _ s: Float) -> [(Int, Double)] {
                    if n == outN { return [(o, 1)] }
                    let src = max(Double(s * (Float(o) + 0.5) - 0.5), 0)
                    let i0 = min(Int(src), n - 1), l = src - Double(i0)
                    return [(i0, 1 - l), (min(i0 + 1, n - 1), l)]
                }
                var v = 0.0
                for (iy, wy) in taps(i[2], h, size.0, sy) {
                    for (ix, wx) in taps(i[3], w, size.1, sx) { v += wy * wx * Double(x.element([i[0], i[1], iy, ix])) }
                }
                return Float(v)
            }
        }
    }

    public static func argmax(_ x: Tensor, dim: Int) -> Tensor {
        let d = x.normalized(dim)
        var shape = x.shape
        shape.remove(at: d)
        return build(shape) { i in
            var j = i
            j.insert(0, at: d)
            var best = 0
            for k in 0..<x.shape[d] {
                j[d] = k
                let v = x.element(j)
                j[d] = best
                let b = x.element(j)
                if v > b || (v.isNaN && !b.isNaN) { best = k }
            }
            return Float(best)
        }
    }

    public static func mean(_ x: Tensor, dims: [Int], keepdim: Bool) -> Tensor {
        let reduced = Set(dims.map(x.normalized))
        let keptShape = (0..<x.rank).map { reduced.contains($0) ? 1 : x.shape[$0] }
        let inner = (0..<x.rank).map { reduced.contains($0) ? x.shape[$0] : 1 }
        let out = build(keptShape) { i in
            let values = allIndices(inner).map { o in Double(x.element(zip(i, o).map { $0 + $1 })) }
            return Float(values.reduce(0, +) / Double(max(values.count, 1)))
        }
        return keepdim ? out : out.reshaped((0..<x.rank).filter { !reduced.contains($0) }.map { x.shape[$0] })
    }

    public static func padded(_ x: Tensor, _ pads: [Int], mode: Tensor.PaddingMode) -> Tensor {
        var before = [Int](repeating: 0, count: x.rank), after = before
        for k in 0..<(pads.count / 2) {
            before[x.rank - 1 - k] = pads[2 * k]
            after[x.rank - 1 - k] = pads[2 * k + 1]
        }
        let shape = (0..<x.rank).map { x.shape[$0] + before[$0] + after[$0] }
        return build(shape) { i in
            var src: [Int] = []
            for d in 0..<x.rank {
                var s = i[d] - before[d]
                let n = x.shape[d]
                if s < 0 || s >= n {
                    switch mode {
                    case .constant(let v): return v
                    case .replicate: s = min(max(s, 0), n - 1)
                    case .reflect: s = s < 0 ? -s : 2 * (n - 1) - s
                    }
                }
                src.append(s)
            }
            return x.element(src)
        }
    }

    public static func pool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
                              ceilMode: Bool, average: Bool, countIncludePad: Bool = true) -> Tensor {
        let h = x.shape[2], w = x.shape[3]
        let oh = Tensor.poolOutputSize(h, kernel: kernel.0, stride: stride.0, padding: padding.0, ceilMode: ceilMode)
        let ow = Tensor.poolOutputSize(w, kernel: kernel.1, stride: stride.1, padding: padding.1, ceilMode: ceilMode)
        return build([x.shape[0], x.shape[1], oh, ow]) { i in
            let y0 = i[2] * stride.0 - padding.0, x0 = i[3] * stride.1 - padding.1
            var s = 0.0, m = -Float.infinity, inside = 0, padded = 0
            for dy in 0..<kernel.0 {
                for dx in 0..<kernel.1 {
                    let yy = y0 + dy, xx = x0 + dx
                    if yy < h + padding.0 && xx < w + padding.1 { padded += 1 }
                    guard yy >= 0 && yy < h && xx >= 0 && xx < w else { continue }
                    let v = x.element([i[0], i[1], yy, xx])
                    s += Double(v)
                    if v > m || v.isNaN { m = v }
                    inside += 1
                }
            }
            return average ? Float(s / Double(countIncludePad ? padded : inside)) : m
        }
    }

    // MARK: Helpers

    /// A dense tensor whose element at each multi-index is `f(index)`.
    static func build(_ shape: [Int], _ f: ([Int]) -> Float) -> Tensor {
        Tensor(shape: shape, scalars: allIndices(shape).map(f))
    }

    /// A dense tensor of `shape` whose elements at each group's indices are `f(group)`.
    static func byGroups(_ shape: [Int], groups: [[[Int]]], _ f: ([[Int]]) -> [Float]) -> Tensor {
        let strides = Tensor.denseStrides(shape)
        var out = [Float](repeating: .nan, count: Tensor.elementCount(shape))
        for g in groups {
            for (i, v) in zip(g, f(g)) { out[zip(i, strides).reduce(0) { $0 + $1.0 * $1.1 }] = v }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// Every multi-index of `shape` in row-major order.
    static func allIndices(_ shape: [Int]) -> [[Int]] {
        let n = Tensor.elementCount(shape)
        guard n > 0 else { return [] }
        var out: [[Int]] = []
        out.reserveCapacity(n)
        var i = [Int](repeating: 0, count: shape.count)
        for _ in 0..<n {
            out.append(i)
            var d = shape.count - 1
            while d >= 0 {
                i[d] += 1
                if i[d] < shape[d] { break }
                i[d] = 0
                d -= 1
            }
        }
        return out
    }

    static func moments(_ v: [Double]) -> (mean: Double, variance: Double) {
        let mean = v.reduce(0, +) / Double(v.count)
        return (mean, v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count))
    }
}

extension Tensor {
    /// The element at a multi-index, through strides.
    func element(_ index: [Int]) -> Float {
        var o = offset
        for d in 0..<rank { o += index[d] * strides[d] }
        return storage.base[o]
    }

    /// The element read at `index` of a broadcast shape (leading and size-1 dimensions ignored).
    func element(broadcasting index: [Int]) -> Float {
        let lead = index.count - rank
        return element((0..<rank).map { shape[$0] == 1 ? 0 : index[$0 + lead] })
    }
}
