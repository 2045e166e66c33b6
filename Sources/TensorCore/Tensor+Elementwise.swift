import Foundation

/// Arithmetic with NumPy/PyTorch broadcasting, scalar forms, and the elementwise map the unary ops use.
extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .add) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .sub) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .mul) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .div) }

    public static func + (a: Tensor, s: Float) -> Tensor { a.map(.add(s)) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.map(.add(-s)) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map(.mul(s)) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.map(.div(s)) }
    public static func + (s: Float, a: Tensor) -> Tensor { a.map(.add(s)) }
    public static func - (s: Float, a: Tensor) -> Tensor { a.map(.subtractFrom(s)) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.map(.mul(s)) }
    public static func / (s: Float, a: Tensor) -> Tensor { a.map(.divide(s)) }
    public static prefix func - (a: Tensor) -> Tensor { a.map(.mul(-1)) }

    /// Elements limited to `[min, max]` (either bound optional), as `torch.clamp`; NaN stays NaN.
    public func clamp(min lo: Float? = nil, max hi: Float? = nil) -> Tensor {
        map(.clamp(lo ?? -.infinity, hi ?? .infinity))
    }

    public func exp() -> Tensor { map(.exp) }

    /// The shape two operands broadcast to (trailing dimensions aligned; 1 stretches).
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let r = Swift.max(a.count, b.count)
        return (0..<r).map { i in
            let x = i < r - a.count ? 1 : a[i - (r - a.count)]
            let y = i < r - b.count ? 1 : b[i - (r - b.count)]
            precondition(x == y || x == 1 || y == 1, "broadcast: shapes \(a) and \(b) are incompatible")
            return x == 1 ? y : x
        }
    }

    /// Strides that read this tensor as if it had `shape` (broadcast dimensions get stride 0).
    func broadcastStrides(to shape: [Int]) -> [Int] {
        let lead = shape.count - rank
        return (0..<shape.count).map { d in
            d < lead || self.shape[d - lead] == 1 ? 0 : strides[d - lead]
        }
    }

    // MARK: Kernels

    enum BinaryOp { case add, sub, mul, div }

    /// Dense result of `op` over the broadcast shape. Strided inputs are read in place; dimensions that
    /// are dense for both inputs are merged so the inner loop runs as long as possible.
    static func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
        let shape = broadcastShape(a.shape, b.shape)
        var dims = shape, sa = a.broadcastStrides(to: shape), sb = b.broadcastStrides(to: shape)
        coalesce(&dims, &sa, &sb)
        let inner = dims.last ?? 1, ia = sa.last ?? 0, ib = sb.last ?? 0
        let outer = Array(dims.dropLast()), oa = Array(sa.dropLast()), ob = Array(sb.dropLast())
        let rows = outer.reduce(1, *)
        // Long rows are cut into pieces so that a dense same-shape op (one row after merging) still
        // spreads over the workers.
        let piece = Swift.min(Swift.max(inner, 1), 1 << 15), pieces = (inner + piece - 1) / piece
        let pa = a.storage.base + a.offset, pb = b.storage.base + b.offset
        return Tensor(shape: shape) { out in
            guard out.count > 0 else { return }
            let po = out.baseAddress!
            ThreadPool.parallelFor(rows * pieces, minChunk: Swift.max(1, (1 << 15) / piece)) { range in
                for task in range {
                    let row = task / pieces, lo = (task % pieces) * piece, n = Swift.min(piece, inner - lo)
                    var rem = row, offA = lo * ia, offB = lo * ib
                    for d in stride(from: outer.count - 1, through: 0, by: -1) {
                        let i = rem % outer[d]
                        rem /= outer[d]
                        offA += i * oa[d]
                        offB += i * ob[d]
                    }
                    binaryRow(op, pa + offA, ia, pb + offB, ib, po + row * inner + lo, n)
                }
            }
        }
    }

    @inline(__always)
    static func binaryRow(_ op: BinaryOp, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>,
                          _ sb: Int, _ o: UnsafeMutablePointer<Float>, _ n: Int) {
        switch op {
        case .add: rowLoop(a, sa, b, sb, o, n) { $0 + $1 }
        case .sub: rowLoop(a, sa, b, sb, o, n) { $0 - $1 }
        case .mul: rowLoop(a, sa, b, sb, o, n) { $0 * $1 }
        case .div: rowLoop(a, sa, b, sb, o, n) { $0 / $1 }
        }
    }

    /// The inner loop, specialised for the stride patterns that dominate (dense, scalar-broadcast).
    @inline(__always)
    static func rowLoop(_ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                        _ o: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Float, Float) -> Float) {
        if sa == 1 && sb == 1 {
            for i in 0..<n { o[i] = f(a[i], b[i]) }
        } else if sa == 1 && sb == 0 {
            let y = b[0]
            for i in 0..<n { o[i] = f(a[i], y) }
        } else if sa == 0 && sb == 1 {
            let x = a[0]
            for i in 0..<n { o[i] = f(x, b[i]) }
        } else {
            for i in 0..<n { o[i] = f(a[i * sa], b[i * sb]) }
        }
    }

    /// Merges neighbouring dimensions that both operands (and the dense output) traverse as one run,
    /// and drops size-1 dimensions.
    static func coalesce(_ dims: inout [Int], _ sa: inout [Int], _ sb: inout [Int]) {
        var d: [Int] = [], a: [Int] = [], b: [Int] = []
        for i in dims.indices where dims[i] != 1 {
            if let last = d.last, a.last! == sa[i] * dims[i], b.last! == sb[i] * dims[i] {
                d[d.count - 1] = last * dims[i]
                a[a.count - 1] = sa[i]
                b[b.count - 1] = sb[i]
            } else {
                d.append(dims[i])
                a.append(sa[i])
                b.append(sb[i])
            }
        }
        if d.isEmpty { (d, a, b) = ([1], [0], [0]) }
        (dims, sa, sb) = (d, a, b)
    }

    /// The pointwise functions `map` applies; each has its own loop so the compiler sees straight code.
    enum UnaryOp {
        case add(Float), mul(Float), div(Float), subtractFrom(Float), divide(Float), clamp(Float, Float)
        case exp, relu, silu, sigmoid, tanh, gelu, geluTanh, hardSigmoid, hardSigmoidAffine(Float, Float), hardSwish
    }

    /// Dense result of `op` applied to every element; parallel for large tensors.
    func map(_ op: UnaryOp) -> Tensor {
        let src = contiguous()
        return Tensor(shape: shape) { out in
            guard out.count > 0 else { return }
            let pi = src.storage.base + src.offset, po = out.baseAddress!
            ThreadPool.parallelFor(out.count, minChunk: 1 << 15) { r in
                Tensor.unaryLoop(op, pi + r.lowerBound, po + r.lowerBound, r.count)
            }
        }
    }

    static func unaryLoop(_ op: UnaryOp, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        switch op {
        case .add(let s): for i in 0..<n { y[i] = x[i] + s }
        case .mul(let s): for i in 0..<n { y[i] = x[i] * s }
        case .div(let s): for i in 0..<n { y[i] = x[i] / s }
        case .subtractFrom(let s): for i in 0..<n { y[i] = s - x[i] }
        case .divide(let s): for i in 0..<n { y[i] = s / x[i] }
        case let .clamp(lo, hi): for i in 0..<n { y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]) }
        case .exp: for i in 0..<n { y[i] = FastMath.exp(x[i]) }
        case .relu: for i in 0..<n { y[i] = x[i] < 0 ? 0 : x[i] }  // NaN passes through, as in PyTorch
        case .silu: for i in 0..<n { y[i] = x[i] / (1 + FastMath.exp(-x[i])) }
        case .sigmoid: for i in 0..<n { y[i] = 1 / (1 + FastMath.exp(-x[i])) }
        case .tanh: for i in 0..<n { y[i] = Foundation.tanh(x[i]) }
        case .gelu:
            let k = Float(0.5).squareRoot()
            for i in 0..<n { y[i] = 0.5 * x[i] * (1 + FastMath.erf(x[i] * k)) }
        case .geluTanh:
            // tanh(u) = 1 − 2 / (1 + e^{2u}); the absolute error near 0 is scaled down by x.
            let k = 2 * Float(2 / Double.pi).squareRoot()
            for i in 0..<n {
                let v = x[i]
                y[i] = v - v / (1 + FastMath.exp(k * (v + 0.044715 * v * v * v)))
            }
        case .hardSigmoid: for i in 0..<n { y[i] = x[i] <= -3 ? 0 : (x[i] >= 3 ? 1 : x[i] / 6 + 0.5) }
        case let .hardSigmoidAffine(alpha, beta):
            for i in 0..<n { y[i] = Swift.max(0, Swift.min(1, alpha * x[i] + beta)) }
        case .hardSwish: for i in 0..<n { y[i] = x[i] <= -3 ? 0 : (x[i] >= 3 ? x[i] : x[i] * (x[i] + 3) / 6) }
        }
    }
}
