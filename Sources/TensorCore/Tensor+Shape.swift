/// Joining, splitting and padding.
extension Tensor {
    /// Tensors joined along `dim` (all other dimensions equal), as `torch.cat`.
    public static func cat(_ tensors: [Tensor], dim: Int) -> Tensor {
        precondition(!tensors.isEmpty, "cat: no tensors")
        let first = tensors[0], d = first.normalized(dim)
        for t in tensors {
            precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == d || t.shape[$0] == first.shape[$0] },
                         "cat: shape \(t.shape) does not match \(first.shape) outside dim \(d)")
        }
        var shape = first.shape
        shape[d] = tensors.reduce(0) { $0 + $1.shape[d] }
        let outer = shape[..<d].reduce(1, *), inner = shape[(d + 1)...].reduce(1, *)
        let parts = tensors.map { $0.contiguous() }
        let rowOut = shape[d] * inner
        return Tensor(shape: shape) { out in
            guard out.count > 0 else { return }
            let po = out.baseAddress!
            var start = 0
            for p in parts {
                let run = p.shape[d] * inner, src = p.storage.base + p.offset
                if run > 0 {
                    let at = start
                    ThreadPool.parallelFor(outer, minChunk: Swift.max(1, 65536 / run)) { rows in
                        for o in rows { (po + o * rowOut + at).update(from: src + o * run, count: run) }
                    }
                }
                start += run
            }
        }
    }

    /// Views of `size` elements along `dim` (the last may be shorter), as `torch.split(size, dim)`.
    public func split(_ size: Int, dim: Int) -> [Tensor] {
        precondition(size > 0, "split: size must be positive")
        let d = normalized(dim), n = shape[d]
        return stride(from: 0, to: Swift.max(n, 1), by: size).map { narrowed(dim: d, start: $0, length: Swift.min(size, n - $0)) }
    }

    /// Views of the given sizes along `dim` (they must sum to its length), as `torch.split(sizes, dim)`.
    public func split(sizes: [Int], dim: Int) -> [Tensor] {
        let d = normalized(dim)
        precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[d],
                     "split: sizes \(sizes) do not sum to \(shape[d])")
        var start = 0
        return sizes.map { s in
            defer { start += s }
            return narrowed(dim: d, start: start, length: s)
        }
    }

    /// At most `chunks` views of ⌈n/chunks⌉ elements along `dim`, as `torch.chunk`.
    public func chunked(_ chunks: Int, dim: Int) -> [Tensor] {
        precondition(chunks > 0, "chunked: chunks must be positive")
        let n = size(dim)
        return split(Swift.max(1, (n + chunks - 1) / chunks), dim: dim)
    }

    /// How `padded` fills the border.
    public enum PaddingMode: Sendable, Equatable {
        /// A fixed value (PyTorch's "constant").
        case constant(Float)
        /// Mirror without repeating the edge (PyTorch's "reflect"); pads must be smaller than the dimension.
        case reflect
        /// Repeat the edge (PyTorch's "replicate").
        case replicate
    }

    /// Padded as `torch.nn.functional.pad`: `pads` lists (before, after) pairs starting from the last
    /// dimension, e.g. [left, right, top, bottom] for NCHW. Reflect and replicate pad the last one or
    /// two dimensions; constant pads any.
    public func padded(_ pads: [Int], mode: PaddingMode = .constant(0)) -> Tensor {
        precondition(pads.count % 2 == 0 && pads.count / 2 <= rank && pads.allSatisfy { $0 >= 0 },
                     "padded: pads \(pads) for rank \(rank)")
        let k = pads.count / 2
        if k == 0 { return self }
        if case .constant = mode {} else {
            precondition(k <= 2, "padded: \(mode) pads at most the last two dimensions")
        }
        var before = [Int](repeating: 0, count: rank), after = before
        for i in 0..<k {
            before[rank - 1 - i] = pads[2 * i]
            after[rank - 1 - i] = pads[2 * i + 1]
        }
        if mode == .reflect {
            for d in 0..<rank where before[d] > 0 || after[d] > 0 {
                precondition(before[d] < shape[d] && after[d] < shape[d],
                             "padded: reflect pad \(before[d]),\(after[d]) needs a larger dimension than \(shape[d])")
            }
        }
        let outShape = (0..<rank).map { shape[$0] + before[$0] + after[$0] }
        let src = contiguous()
        let inStrides = Tensor.denseStrides(shape), inner = outShape.last ?? 1
        let rows = inner == 0 ? 0 : Tensor.elementCount(outShape) / inner
        let rowDims = Array(outShape.dropLast())
        return Tensor(shape: outShape) { out in
            guard out.count > 0 else { return }
            let pi = src.storage.base + src.offset, po = out.baseAddress!
            ThreadPool.parallelFor(rows, minChunk: Swift.max(1, 32768 / inner)) { range in
                for row in range {
                    // Locate the source row; nil when it lies in a constant border.
                    var rem = row, base = 0, inside = true
                    for d in stride(from: rowDims.count - 1, through: 0, by: -1) {
                        let o = rem % rowDims[d]
                        rem /= rowDims[d]
                        guard let i = Tensor.sourceIndex(o - before[d], shape[d], mode) else { inside = false; break }
                        base += i * inStrides[d]
                    }
                    let y = po + row * inner
                    let last = rank - 1
                    guard inside else {
                        if case .constant(let v) = mode { y.update(repeating: v, count: inner) }
                        continue
                    }
                    let x = pi + base, n = shape[last], b = before[last]
                    if b > 0 || after[last] > 0 {
                        for j in 0..<b { y[j] = Tensor.sourceIndex(j - b, n, mode).map { x[$0] } ?? Tensor.fill(mode) }
                        for j in (b + n)..<inner { y[j] = Tensor.sourceIndex(j - b, n, mode).map { x[$0] } ?? Tensor.fill(mode) }
                    }
                    (y + b).update(from: x, count: n)
                }
            }
        }
    }

    /// The source index padding maps `i` (relative to the unpadded start) to, or nil for a constant border.
    @inline(__always)
    static func sourceIndex(_ i: Int, _ n: Int, _ mode: PaddingMode) -> Int? {
        if i >= 0 && i < n { return i }
        switch mode {
        case .constant: return nil
        case .replicate: return i < 0 ? 0 : n - 1
        case .reflect: return i < 0 ? -i : 2 * (n - 1) - i
        }
    }

    @inline(__always)
    static func fill(_ mode: PaddingMode) -> Float {
        if case .constant(let v) = mode { return v }
        return 0
    }
}
