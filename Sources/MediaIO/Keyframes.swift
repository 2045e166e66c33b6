import Foundation
/// How keyframes are picked from a video.
public enum KeyframeSelection: Sendable, Equatable {
    /// The codec's own keyframes (I-frames); only those are decoded, so this is fast.
    case codec
    /// The first frame, then the first frame at or after each further multiple of `seconds`.
    case every(seconds: Double)
    /// The first frame, then each frame whose downscaled luma differs from the previous frame's by a mean
    /// absolute difference above `threshold` (a fraction of full scale, e.g. 0.1).
    case sceneChange(threshold: Double)
}

public enum Keyframes {
    /// `HH-MM-SS.mmm` of a presentation time: sortable, and safe in file names.
    public static func timestampName(_ seconds: Double) -> String {
        // Clamped below 10^6 hours so that the name keeps its shape for any timestamp a file can hold.
        let ms = Int.clamped(min(max(0, seconds) * 1000, 3.6e12 - 1).rounded())
        return String(format: "%02d-%02d-%02d.%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
    }

    /// Calls `body` with each selected frame, in order; returns how many were selected.
    @discardableResult
    public static func extract(path: String, selection: KeyframeSelection,
                               _ body: (VideoFrame) throws -> Void) throws -> Int {
        let reader = try VideoReader(path: path, keyframesOnly: selection == .codec)
        var selected = 0
        var nextTime: Double? = nil
        var previous: [Float]? = nil
        while let frame = try reader.nextFrame() {
            let take: Bool
            switch selection {
            case .codec:
                take = frame.isKeyframe
            case .every(let step):
                let t = frame.seconds
                if let next = nextTime {
                    take = t >= next - 1e-9
                    if take { nextTime = nextSampleTime(after: t, from: next, step: step) }
                } else {
                    take = true
                    nextTime = t + max(step, 1e-6)
                }
            case .sceneChange(let threshold):
                let luma = thumbnailLuma(frame.image)
                if let prev = previous {
                    take = meanAbsDifference(prev, luma) > threshold
                } else {
                    take = true
                }
                previous = luma
            }
            if take {
                selected += 1
                try body(frame)
            }
        }
        if reader.decodedFrames == 0 { throw MediaError.noFrames(path: path) }
        return selected
    }

    /// The first multiple of `step` past `from` that lies after `t`, computed directly: a jump of hours in
    /// the timestamps costs no more than one frame's step.
    static func nextSampleTime(after t: Double, from next: Double, step: Double) -> Double {
        let s = max(step, 1e-6)
        guard t.isFinite, next.isFinite else { return .infinity }
        if next > t + 1e-9 { return next }
        var n = next + (((t - next) / s).rounded(.down) + 1) * s
        // Rounding at large magnitudes can leave n at or just before t, or stop it moving at all.
        if n <= t + 1e-9 { n = n + s > n ? n + s : t.nextUp + s }
        return max(n, t.nextUp)
    }

    /// Mean luma (0…1, BT.601 weights) over a grid of at most 64×36 cells.
    static func thumbnailLuma(_ image: RGBImage, columns: Int = 64, rows: Int = 36) -> [Float] {
        let cw = min(columns, image.width), ch = min(rows, image.height)
        var sums = [Float](repeating: 0, count: cw * ch)
        var counts = [Float](repeating: 0, count: cw * ch)
        image.pixels.withUnsafeBufferPointer { p in
            for y in 0..<image.height {
                let cy = y * ch / image.height
                for x in 0..<image.width {
                    let i = (y * image.width + x) * 3
                    let l = 0.299 * Float(p[i]) + 0.587 * Float(p[i + 1]) + 0.114 * Float(p[i + 2])
                    let c = cy * cw + x * cw / image.width
                    sums[c] += l
                    counts[c] += 1
                }
            }
        }
        return zip(sums, counts).map { $0 / max($1, 1) / 255 }
    }

    static func meanAbsDifference(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 1 }
        var s: Float = 0
        for i in 0..<a.count { s += abs(a[i] - b[i]) }
        return Double(s / Float(a.count))
    }
}
