extension Tensor {
    /// Fully connected layer as `torch.nn.functional.linear`: y = x · weightᵀ + bias.
    ///
    /// Layout: x [..., in], weight [out, in], bias [out] → [..., out]. One GEMM over all leading dims,
    /// with the bias pre-filled into the output rows (beta = 1) instead of a second pass.
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        precondition(x.rank >= 1 && weight.rank == 2 && x.shape[x.rank - 1] == weight.shape[1],
                     "linear: input \(x.shape) does not match weight \(weight.shape)")
        let inF = weight.shape[1], outF = weight.shape[0]
        if let bias { precondition(bias.count == outF, "linear: bias \(bias.shape) for \(outF) outputs") }
        let xc = x.contiguous(), w = weight.contiguous(), bc = bias?.contiguous()
        let rows = inF == 0 ? x.count : xc.count / inF
        return Tensor(shape: Array(x.shape.dropLast()) + [outF]) { out in
            guard rows > 0 && outF > 0 else { return }
            let pc = out.baseAddress!
            if let bc {
                let pb = bc.kernelBase
                for r in 0..<rows { (pc + r * outF).update(from: pb, count: outF) }
            }
            if inF == 0 {
                if bc == nil { pc.initialize(repeating: 0, count: out.count) }
                return
            }
            BLAS.sgemm(transB: true, m: rows, n: outF, k: inF, a: xc.kernelBase, lda: inF,
                       b: w.kernelBase, ldb: inF, beta: bc == nil ? 0 : 1, c: pc, ldc: outF)
            withExtendedLifetime((xc, w, bc)) {}
        }
    }
}
