extension Tensor {
    /// Pointer to this view's first element; strides still apply. Valid while `self` is alive.
    @usableFromInline var kernelBase: UnsafeMutablePointer<Float> { storage.base + offset }

    /// Matrix product with `torch.matmul`'s rules: 1-D operands are promoted (and the added dimension
    /// removed afterwards), dimensions before the last two broadcast.
    ///
    /// Layout: a [..., m, k] · b [..., k, n] → [broadcast(...), m, n]. Either operand may be a transposed
    /// view of its last two dimensions (passed to SGEMM as such, no copy). A batch that b does not vary
    /// over is folded into one GEMM of (batch·m) rows.
    public static func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.rank >= 1 && b.rank >= 1, "matmul: scalars have no matrix product")
        let a2 = a.rank == 1 ? a.reshaped([1, a.shape[0]]) : a
        let b2 = b.rank == 1 ? b.reshaped([b.shape[0], 1]) : b
        let m = a2.shape[a2.rank - 2], k = a2.shape[a2.rank - 1]
        let n = b2.shape[b2.rank - 1]
        precondition(b2.shape[b2.rank - 2] == k, "matmul: \(a.shape) · \(b.shape): inner dimensions differ")
        let batch = broadcastBatch(Array(a2.shape.dropLast(2)), Array(b2.shape.dropLast(2)))
        var out = batchedGEMM(a2, b2, batch: batch, m: m, n: n, k: k)
        if a.rank == 1 { out = out.reshaped(Array(out.shape.dropLast(2)) + [n]) }
        if b.rank == 1 { out = out.reshaped(Array(out.shape.dropLast(1))) }
        return out
    }

    /// Matrix product with `other` (`torch.matmul` rules).
    public func matmul(_ other: Tensor) -> Tensor { Tensor.matmul(self, other) }

    /// Batched matrix product: a [B, m, k] · b [B, k, n] → [B, m, n] (no broadcasting, as `torch.bmm`).
    public static func bmm(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0] && a.shape[2] == b.shape[1],
                     "bmm: \(a.shape) · \(b.shape) is not [B, m, k] · [B, k, n]")
        return matmul(a, b)
    }

    static func broadcastBatch(_ x: [Int], _ y: [Int]) -> [Int] {
        let r = max(x.count, y.count)
        let xs = [Int](repeating: 1, count: r - x.count) + x
        let ys = [Int](repeating: 1, count: r - y.count) + y
        return (0..<r).map { d in
            precondition(xs[d] == ys[d] || xs[d] == 1 || ys[d] == 1, "matmul: batch dims \(x) and \(y) do not broadcast")
            return max(xs[d], ys[d])
        }
    }

    /// One SGEMM operand: a matrix view usable without copying, or its dense copy.
    struct GEMMOperand {
        var tensor: Tensor  // kept alive for `base`
        var trans: Bool
        var ld: Int
        var batchStrides: [Int]  // per broadcast batch dim; 0 where broadcast

        init(_ t0: Tensor, rows: Int, cols: Int, batch: [Int]) {
            var t = t0
            let r = t.rank
            func rowMajor(_ t: Tensor) -> Bool {
                (t.strides[r - 1] == 1 || cols == 1) && (rows == 1 || t.strides[r - 2] >= cols)
            }
            func colMajor(_ t: Tensor) -> Bool {
                (t.strides[r - 2] == 1 || rows == 1) && (cols == 1 || t.strides[r - 1] >= rows) && rows > 1 && cols > 1
            }
            if rowMajor(t) {
                trans = false
                ld = rows == 1 ? max(cols, 1) : t.strides[r - 2]
            } else if colMajor(t) {
                trans = true
                ld = t.strides[r - 1]
            } else {
                t = t.contiguous()
                trans = false
                ld = max(cols, 1)
            }
            tensor = t
            let lead = batch.count - (r - 2)
            batchStrides = (0..<batch.count).map { d in
                d < lead || t.shape[d - lead] == 1 ? 0 : t.strides[d - lead]
            }
        }
    }

    static func batchedGEMM(_ a: Tensor, _ b: Tensor, batch: [Int], m: Int, n: Int, k: Int) -> Tensor {
        let count = elementCount(batch)
        let bVaries = b.shape.dropLast(2).contains { $0 != 1 }
        // [batch..., m, k] dense with b shared: one GEMM of (count·m) rows.
        if count > 1 && !bVaries && a.isContiguous && a.rank - 2 == batch.count {
            let out = matmul(a.reshaped([count * m, k]), b.reshaped([k, n]))
            return out.reshaped(batch + [m, n])
        }
        let oa = GEMMOperand(a, rows: m, cols: k, batch: batch)
        let ob = GEMMOperand(b, rows: k, cols: n, batch: batch)
        var aOff = [Int](repeating: 0, count: count), bOff = aOff
        var index = [Int](repeating: 0, count: batch.count)
        for i in 0..<count {
            for d in 0..<batch.count {
                aOff[i] += index[d] * oa.batchStrides[d]
                bOff[i] += index[d] * ob.batchStrides[d]
            }
            var d = batch.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < batch[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return Tensor(shape: batch + [m, n]) { out in
            guard m > 0 && n > 0 else { return }
            let pa = oa.tensor.kernelBase, pb = ob.tensor.kernelBase, pc = out.baseAddress!
            if k == 0 {
                pc.initialize(repeating: 0, count: out.count)
                return
            }
            let one: (Int) -> Void = { i in
                BLAS.sgemm(transA: oa.trans, transB: ob.trans, m: m, n: n, k: k,
                           a: pa + aOff[i], lda: oa.ld, b: pb + bOff[i], ldb: ob.ld, c: pc + i * m * n, ldc: n)
            }
            // Large products use OpenBLAS's threads; many small ones run side by side single-threaded.
            if count == 1 || 2 * m * n * k >= 1 << 28 {
                for i in 0..<count { one(i) }
            } else {
                BLAS.withSingleThread {
                    ThreadPool.parallelFor(count) { r in for i in r { one(i) } }
                }
            }
            withExtendedLifetime(oa) {}
            withExtendedLifetime(ob) {}
        }
    }
}
