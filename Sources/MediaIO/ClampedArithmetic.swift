/// Timestamp arithmetic that saturates instead of trapping: a damaged or hostile file can carry
/// timestamps near `Int64.max`, and a video must then come out with clamped times, not a crash.
extension Int64 {
    func clampedAdding(_ other: Int64) -> Int64 {
        let (r, overflow) = addingReportingOverflow(other)
        if !overflow { return r }
        return other > 0 ? .max : .min
    }

    /// The nearest representable value; NaN gives `nan`.
    static func clamped(_ d: Double, nan: Int64 = 0) -> Int64 {
        if d.isNaN { return nan }
        if d >= 9.2e18 { return .max }
        if d <= -9.2e18 { return .min }
        return Int64(d)
    }
}

extension Int {
    /// The nearest representable value; NaN gives `nan`.
    static func clamped(_ d: Double, nan: Int = 0) -> Int { Int(Int64.clamped(d, nan: Int64(nan))) }
}
