import Testing
@testable import TensorCore

/// Error bounds for comparing against PyTorch (each as |got − want| ≤ tol · (1 + |want|)).
enum Tolerance {
    /// Same operations in the same order, single rounding each: bit-exact is expected.
    static let exact: Float = 0
    /// One or two roundings differ (operation order, fused multiply-add in PyTorch's vector code).
    static let rounding: Float = 2e-7
    /// exp, tanh, erf come from libm here and from SLEEF polynomials in PyTorch: a few ulp apart.
    static let transcendental: Float = 2e-6
    /// Bilinear weights round differently here and in PyTorch; PyTorch's own float result is up to
    /// 8e-7 (relative) from a Double evaluation of the same formula.
    static let interpolation: Float = 1e-6
    /// Reductions over up to a few hundred elements summed in a different order.
    static let reduction: Float = 2e-6
    /// Normalisation divides by a standard deviation computed in a different order (Welford vs two-pass).
    static let normalization: Float = 1e-5
    /// Naive twins accumulate in Double; the fast paths in Float.
    static let twin: Float = 1e-5
}

/// Records an issue naming `what` unless shapes match and every element is within `tol`.
func expectClose(_ got: Tensor, _ want: Tensor, _ tol: Float, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard got.shape == want.shape else {
        Issue.record("\(what): shape \(got.shape), expected \(want.shape)", sourceLocation: sourceLocation)
        return
    }
    var worst: Float = 0, at = 0
    for (i, (g, w)) in zip(got.scalars, want.scalars).enumerated() {
        let excess = (g == w || (g.isNaN && w.isNaN)) ? 0 : abs(g - w) / (1 + abs(w))
        if !(excess <= worst) { (worst, at) = (excess.isNaN ? .infinity : excess, i) }
    }
    #expect(worst <= tol, "\(what): element \(at) off by \(worst) (relative), tolerance \(tol)",
            sourceLocation: sourceLocation)
}
