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
