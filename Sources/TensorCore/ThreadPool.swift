import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Parallel loops for the non-GEMM ops, sized to the machine's cores.
///
/// Work is split into at most `workers` contiguous chunks so each core touches one run of memory.
/// Code inside a parallel loop must not call a multi-threaded SGEMM: use `BLAS.withSingleThread`
/// or issue GEMMs outside the loop (OpenBLAS threads and these workers would fight for the cores).
public enum ThreadPool {
    /// Number of workers: `SVIA_THREADS` if set, else the online cores.
    public static let workers: Int = {
        if let s = getenv("SVIA_THREADS"), let n = Int(String(cString: s)), n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }()

    /// Calls `body(range)` over chunks covering `0..<count`, in parallel when the work is large enough.
    /// `minChunk` keeps tiny loops on the calling thread, where dispatch would cost more than it saves.
    /// `chunksPerWorker` above 1 cuts long uneven loops finer so a worker that falls behind (preempted by
    /// another process, or given slower items) is helped by the others instead of being waited for.
    @inlinable
    public static func parallelFor(_ count: Int, minChunk: Int = 1, chunksPerWorker: Int = 1,
                                   _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(workers * max(1, chunksPerWorker), max(1, count / max(minChunk, 1)))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            // concurrentPerform returns only after every chunk ran, so `body` never outlives this call.
            nonisolated(unsafe) let run = body
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = count * c / chunks, hi = count * (c + 1) / chunks
                if lo < hi { run(lo..<hi) }
            }
        }
    }
}
