/// exp and erf written as straight-line arithmetic (no libm calls, no branches, no float→int
/// conversions), so loops over them vectorise. libm's versions are their naive twins in the tests.
enum FastMath {
    /// 1.5 · 2²³: adding it rounds a float of magnitude < 2²² to an integer held in the low mantissa bits.
    @usableFromInline static let roundingMagic: Float = 12_582_912

    /// eˣ within 2 ulp (Cephes `expf`: Cody–Waite reduction by ln 2, degree-6 polynomial). Results below
    /// the normal range flush to 0; above it, +∞; NaN stays NaN.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87.336_54), 88.722_83)
        let t = xc * 1.442_695_04 + roundingMagic
        let n = t - roundingMagic
        let r = (xc - n * 0.693_359_375) - n * -2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let y = p * r * r + r + 1
        // 2ⁿ from the integer in t's low bits, applied as 2^⌊n/2⌋ · 2^⌈n/2⌉ so that both factors stay
        // normal for every n in [-126, 128].
        let k = Int32(bitPattern: t.bitPattern &- roundingMagic.bitPattern), h = k >> 1
        let s1 = Float(bitPattern: UInt32(bitPattern: (h &+ 127) << 23))
        let s2 = Float(bitPattern: UInt32(bitPattern: (k &- h &+ 127) << 23))
        let v = y * s1 * s2
        return x < -87.336_54 ? 0 : (x > 88.722_83 ? .infinity : v)
    }

    /// erf(x) within 4e-7 absolute, as 1 − erfc(|x|) with odd symmetry; erfc is the Chebyshev fit of
    /// Numerical Recipes' `erfcc` (fractional error below 1.2e-7).
    @inline(__always)
    static func erf(_ x: Float) -> Float {
        let z = Swift.abs(x)
        let t = 1 / (1 + 0.5 * z)
        var p: Float = 0.170_872_77
        p = p * t - 0.822_152_23
        p = p * t + 1.488_515_87
        p = p * t - 1.135_203_98
        p = p * t + 0.278_868_07
        p = p * t - 0.186_288_06
        p = p * t + 0.096_784_18
        p = p * t + 0.374_091_96
        p = p * t + 1.000_023_68
        p = p * t - 1.265_512_23
        let e = 1 - t * exp(p - z * z)
        return x < 0 ? -e : e
    }
}
