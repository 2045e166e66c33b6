/// Reductions over dimensions: mean and argmax.
extension Tensor {
    /// Mean over `dims` (all when empty), keeping them as size 1 when `keepdim`, as `torch.mean`.
    public func mean(dims: [Int] = [], keepdim: Bool = false) -> Tensor {
        let reduced = Set(dims.isEmpty ? Array(0..<rank) : dims.map(normalized))
        let kept = (0..<rank).filter { !reduced.contains($0) }
        let moved = permuted(kept + reduced.sorted()).contiguous()  // [kept..., reduced...]
        let n = reduced.reduce(1) { $0 * shape[$1] }, rows = kept.reduce(1) { $0 * shape[$1] }
        let outShape = keepdim ? (0..<rank).map { reduced.contains($0) ? 1 : shape[$0] } : kept.map { shape[$0] }
        return Tensor(shape: outShape) { out in
            guard out.count > 0 else { return }
            let pi = moved.storage.base + moved.offset, po = out.baseAddress!
            ThreadPool.parallelFor(rows, minChunk: Swift.max(1, 32768 / Swift.max(n, 1))) { range in
                for r in range { po[r] = Tensor.laneSum(pi + r * n, n) { $0 } / Float(n) }
            }
        }
    }

    /// Index of the largest element along `dim` (first on ties; NaN counts as largest), as
    /// `torch.argmax`. Indices are stored as Float (exact below 2²⁴).
    public func argmax(dim: Int, keepdim: Bool = false) -> Tensor {
        let d = normalized(dim), n = shape[d]
        precondition(n > 0, "argmax: dimension \(d) is empty")
        let outer = shape[..<d].reduce(1, *), inner = shape[(d + 1)...].reduce(1, *)
        var outShape = shape
        if keepdim { outShape[d] = 1 } else { outShape.remove(at: d) }
        let src = contiguous()
        return Tensor(shape: outShape) { out in
            guard out.count > 0 else { return }
            let pi = src.storage.base + src.offset, po = out.baseAddress!
            // Tasks are column pieces of each block, so a single image's class map still runs in parallel.
            let piece = Swift.min(inner, 4096), pieces = (inner + piece - 1) / piece
            ThreadPool.parallelFor(outer * pieces, minChunk: Swift.max(1, 32768 / (n * piece))) { tasks in
                var best = [Float](repeating: 0, count: piece)
                best.withUnsafeMutableBufferPointer { best in
                    let best = best.baseAddress!
                    for t in tasks {
                        // Scan the classes in order for a run of positions at once (a class map is [N, K, H, W]).
                        let b = t / pieces, lo = (t % pieces) * piece, m = Swift.min(piece, inner - lo)
                        let x = pi + b * n * inner + lo, idx = po + b * inner + lo
                        best.update(from: x, count: m)
                        idx.update(repeating: 0, count: m)
                        for k in 1..<Swift.max(n, 1) {
                            let row = x + k * inner, kf = Float(k)
                            for j in 0..<m where row[j] > best[j] || (row[j].isNaN && !best[j].isNaN) {
                                best[j] = row[j]
                                idx[j] = kf
                            }
                        }
                    }
                }
            }
        }
    }
}
