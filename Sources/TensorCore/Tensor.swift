/// A Float32 tensor in row-major (NCHW for images) layout, with copy-on-write storage.
///
/// Views (`permuted`, `transposed`, `narrowed`) share storage and carry strides; operations that need
/// dense memory call `contiguous()`, which copies only when the view is not already dense.
/// Shape errors are preconditions; data and I/O errors throw.
public struct Tensor: Sendable {
    public private(set) var shape: [Int]
    public private(set) var strides: [Int]
    public private(set) var offset: Int
    @usableFromInline var storage: TensorStorage

    // MARK: Creation

    /// A tensor of `shape` with every element set to `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        let n = Tensor.elementCount(shape)
        storage = TensorStorage(count: n)
        storage.base.initialize(repeating: value, count: n)
        self.shape = shape
        self.strides = Tensor.denseStrides(shape)
        self.offset = 0
    }

    /// A tensor of `shape` holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        let n = Tensor.elementCount(shape)
        let wanted = shape
        precondition(scalars.count == n, "Tensor: \(scalars.count) scalars for shape \(wanted)")
        let st = TensorStorage(count: n)
        scalars.withUnsafeBufferPointer { st.base.initialize(from: $0.baseAddress!, count: n) }
        storage = st
        self.shape = shape
        self.strides = Tensor.denseStrides(shape)
        self.offset = 0
    }

    /// A dense tensor whose elements are written by `fill` (given the uninitialised buffer).
    public init(shape: [Int], uninitialized fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        let n = Tensor.elementCount(shape)
        storage = TensorStorage(count: n)
        self.shape = shape
        self.strides = Tensor.denseStrides(shape)
        self.offset = 0
        try fill(UnsafeMutableBufferPointer(start: storage.base, count: n))
    }

    /// A dense tensor over existing storage (e.g. memory-mapped weights).
    public init(shape: [Int], storage: TensorStorage, offset: Int = 0) {
        precondition(offset + Tensor.elementCount(shape) <= storage.count, "Tensor: storage too small for \(shape)")
        self.shape = shape
        self.strides = Tensor.denseStrides(shape)
        self.offset = offset
        self.storage = storage
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    // MARK: Properties

    public var rank: Int { shape.count }
    public var count: Int { Tensor.elementCount(shape) }
    public func size(_ dim: Int) -> Int { shape[normalized(dim)] }

    /// Whether elements are laid out densely in row-major order (no gaps, no permutation).
    public var isContiguous: Bool {
        var expected = 1
        for d in stride(from: rank - 1, through: 0, by: -1) where shape[d] != 1 {
            if strides[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    /// Elements in row-major order.
    public var scalars: [Float] {
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.storage.base + c.offset, count: c.count))
    }

    // MARK: Raw access

    /// Reads the dense elements. Non-dense views are made dense first.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        if isContiguous {
            return try body(UnsafeBufferPointer(start: storage.base + offset, count: count))
        }
        let c = contiguous()
        return try body(UnsafeBufferPointer(start: c.storage.base + c.offset, count: c.count))
    }

    /// Writes the dense elements, copying first when the storage is shared, borrowed or not dense.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUniqueAndDense()
        return try body(UnsafeMutableBufferPointer(start: storage.base + offset, count: count))
    }

    @usableFromInline
    mutating func makeUniqueAndDense() {
        if !isContiguous || !isKnownUniquelyReferenced(&storage) || !storage.isWritable
            || offset != 0 || storage.count != count {
            self = contiguousCopy()
        }
    }

    // MARK: Views and layout

    /// The same elements with a new shape (one dimension may be -1). Copies only non-dense views.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "reshaped: cannot infer \(newShape) from \(shape)")
            s[i] = count / known
        }
        precondition(Tensor.elementCount(s) == count, "reshaped: \(shape) has \(count) elements, not \(s)")
        var t = contiguous()
        t.shape = s
        t.strides = Tensor.denseStrides(s)
        return t
    }

    /// Dimensions reordered: result dimension i is source dimension `order[i]` (a strided view).
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order) == Set(0..<rank), "permuted: bad order \(order) for rank \(rank)")
        var t = self
        t.shape = order.map { shape[$0] }
        t.strides = order.map { strides[$0] }
        return t
    }

    /// Two dimensions swapped (a strided view).
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(normalized(a), normalized(b))
        return permuted(order)
    }

    /// `length` elements of dimension `dim` from `start` (a strided view).
    public func narrowed(dim: Int, start: Int, length: Int) -> Tensor {
        let d = normalized(dim)
        precondition(start >= 0 && length >= 0 && start + length <= shape[d],
                     "narrowed: \(start)..<\(start + length) out of 0..<\(shape[d]) in dim \(d)")
        var t = self
        t.offset += start * strides[d]
        t.shape[d] = length
        return t
    }

    /// Dense row-major copy when needed; `self` when already dense.
    public func contiguous() -> Tensor {
        isContiguous ? self : contiguousCopy()
    }

    func contiguousCopy() -> Tensor {
        let src = storage.base + offset
        let shape = self.shape, strides = self.strides
        return Tensor(shape: shape) { dst in
            guard dst.count > 0 else { return }
            if isContiguous {
                dst.baseAddress!.update(from: src, count: dst.count)
                return
            }
            // Walk all but the last dimension with an index counter; copy the last one with its stride.
            let r = shape.count
            let inner = shape[r - 1], innerStride = strides[r - 1]
            var index = [Int](repeating: 0, count: r)
            var out = dst.baseAddress!
            let rows = dst.count / max(inner, 1)
            for _ in 0..<rows {
                var base = 0
                for d in 0..<(r - 1) { base += index[d] * strides[d] }
                let p = src + base
                if innerStride == 1 {
                    out.update(from: p, count: inner)
                } else {
                    for j in 0..<inner { out[j] = p[j * innerStride] }
                }
                out += inner
                var d = r - 2
                while d >= 0 {
                    index[d] += 1
                    if index[d] < shape[d] { break }
                    index[d] = 0
                    d -= 1
                }
            }
        }
    }

    // MARK: Helpers

    public static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1) { precondition($1 >= 0, "negative dimension in \(shape)"); return $0 * $1 }
    }

    public static func denseStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            s[d] = acc
            acc *= shape[d]
        }
        return s
    }

    @inlinable
    public func normalized(_ dim: Int) -> Int {
        let d = dim < 0 ? dim + rank : dim
        precondition(d >= 0 && d < rank, "dimension \(dim) out of range for rank \(rank)")
        return d
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(\(shape)) [\(head)\(count > 8 ? ", …" : "")]"
    }
}
