extension Tensor {
    /// Reference for `matmul`: triple loop with Double accumulation over dense copies, same broadcasting.
    public static func naiveMatmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let a2 = a.rank == 1 ? a.reshaped([1, a.shape[0]]) : a.contiguous()
        let b2 = b.rank == 1 ? b.reshaped([b.shape[0], 1]) : b.contiguous()
        let m = a2.shape[a2.rank - 2], k = a2.shape[a2.rank - 1], n = b2.shape[b2.rank - 1]
        precondition(b2.shape[b2.rank - 2] == k, "naiveMatmul: inner dimensions differ")
        let aB = Array(a2.shape.dropLast(2)), bB = Array(b2.shape.dropLast(2))
        let batch = broadcastBatch(aB, bB)
        let av = a2.scalars, bv = b2.scalars
        func flatIndex(_ idx: [Int], _ shape: [Int]) -> Int {
            let lead = idx.count - shape.count
            var f = 0
            for d in 0..<shape.count { f = f * shape[d] + (shape[d] == 1 ? 0 : idx[d + lead]) }
            return f
        }
        var out = [Float](repeating: 0, count: elementCount(batch) * m * n)
        var idx = [Int](repeating: 0, count: batch.count)
        for bi in 0..<elementCount(batch) {
            var rem = bi
            for d in stride(from: batch.count - 1, through: 0, by: -1) {
                idx[d] = rem % batch[d]
                rem /= batch[d]
            }
            let ao = flatIndex(idx, aB) * m * k, bo = flatIndex(idx, bB) * k * n
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for p in 0..<k { s += Double(av[ao + i * k + p]) * Double(bv[bo + p * n + j]) }
                    out[bi * m * n + i * n + j] = Float(s)
                }
            }
        }
        var shape = batch + [m, n]
        if a.rank == 1 { shape.remove(at: shape.count - 2) }
        if b.rank == 1 { shape.removeLast() }
        return Tensor(shape: shape, scalars: out)
    }

    /// Reference for `linear`: `naiveMatmul(x, weightᵀ) + bias`.
    public static func naiveLinear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        var y = naiveMatmul(x, weight.transposed(0, 1))
        guard let bias else { return y }
        let bv = bias.scalars, n = bv.count
        y.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] += bv[i % n] }
        }
        return y
    }
}
