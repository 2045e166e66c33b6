import COpenBLAS

/// The one place that decides how many threads OpenBLAS uses.
///
/// svia parallelises its own loops on `ThreadPool`; a threaded SGEMM called from inside such a loop
/// would oversubscribe the cores, so GEMMs issued from parallel regions must run with one BLAS thread.
public enum BLAS {
    /// Threads OpenBLAS uses for a standalone GEMM.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Threads a large standalone GEMM may use: all cores (OpenBLAS gains little beyond 2 here).
    public static let standaloneThreads: Int = ThreadPool.workers

    /// Runs `body` with OpenBLAS limited to `count` threads, then restores the previous count.
    ///
    /// Use `withSingleThread` around every GEMM issued inside `ThreadPool.parallelFor`.
    @inlinable
    public static func withThreads<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        let before = threads
        if before != count { threads = count }
        defer { if before != count { threads = before } }
        return try body()
    }

    /// Runs `body` with one OpenBLAS thread (for GEMMs inside svia's own parallel loops).
    @inlinable
    public static func withSingleThread<R>(_ body: () throws -> R) rethrows -> R {
        try withThreads(1, body)
    }

    /// OpenBLAS's build description (version, target core, threading model).
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major, with leading dimensions given explicitly.
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
