#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Float32 buffer behind a `Tensor`: 64-byte aligned so SIMD loads and BLAS packing stay on cache lines.
///
/// Storage is either owned (allocated here, freed in `deinit`) or borrowed from an owner that keeps the
/// memory alive, such as a memory-mapped safetensors file whose F32 payload is used without copying.
public final class TensorStorage: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let count: Int
    private let owner: AnyObject?
    private let ownsMemory: Bool

    public static let alignment = 64

    /// Uninitialised storage for `count` floats.
    public init(count: Int) {
        precondition(count >= 0, "TensorStorage: negative count \(count)")
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, TensorStorage.alignment, bytes) == 0, let raw else {
            fatalError("TensorStorage: cannot allocate \(bytes) bytes")
        }
        self.base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        self.owner = nil
        self.ownsMemory = true
    }

    /// Storage over memory kept alive by `owner` (read-only use; writers copy first).
    public init(borrowing base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.owner = owner
        self.ownsMemory = false
    }

    /// Whether writes may go to this memory (borrowed memory is never written).
    public var isWritable: Bool { ownsMemory }

    deinit {
        if ownsMemory { free(base) }
    }
}
