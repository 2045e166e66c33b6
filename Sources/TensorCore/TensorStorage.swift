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

    /// glibc maps blocks above its mmap threshold afresh on each allocation and unmaps them on free, and
    /// trims freed memory at the heap's top, so every large tensor or kernel scratch buffer costs a page fault
    /// and a page clear per 4 KB (15–20 % of a 3x3 conv's CPU time, measured). Keeping freed blocks for reuse
    /// removes that; resident memory then stays at its peak, as with PyTorch's and onnxruntime's arenas.
    static let keepsFreedBlocks: Bool = {
        #if canImport(Glibc)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3  // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD (malloc.h)
        return glibcMallopt(mmapThreshold, 32 << 20) == 1 && glibcMallopt(trimThreshold, Int32.max) == 1
        #else
        return false
        #endif
    }()

    /// Uninitialised storage for `count` floats.
    public init(count: Int) {
        precondition(count >= 0, "TensorStorage: negative count \(count)")
        _ = TensorStorage.keepsFreedBlocks
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

#if canImport(Glibc)
// malloc.h is not part of the Glibc module.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
