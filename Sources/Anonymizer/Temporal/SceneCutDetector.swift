import MediaIO

/// Finds hard cuts in a stream of luma thumbnails (see `Luma.thumbnail`), where state carried between
/// frames (latents, masks, motion) must be dropped.
///
/// The score between consecutive thumbnails is the sum of two parts, both fractions of the luma range:
/// - the earth mover's distance between their 32-bin luma histograms (the mean gap between the
///   cumulative histograms), which small intensity noise barely moves;
/// - the mean absolute difference after the best small shift (up to `maxShift` thumbnail pixels each
///   way), so panning and small motion do not count, while a new scene with a similar histogram does.
/// A frame is a cut when the score exceeds `threshold`. The first frame, and any change of thumbnail
/// size, counts as a cut.
public struct SceneCutDetector: Sendable {
    public var threshold: Float
    public var maxShift: Int
    /// Score of the last observed frame against its predecessor (0 for a first frame).
    public private(set) var lastScore: Float = 0
    private var previous: GrayImage?

    public static let bins = 32

    public init(threshold: Float = 0.06, maxShift: Int = 2) {
        precondition(threshold >= 0 && maxShift >= 0, "SceneCutDetector: bad threshold \(threshold) / shift \(maxShift)")
        self.threshold = threshold
        self.maxShift = maxShift
    }

    /// Whether `thumbnail` starts a new scene.
    public mutating func observe(_ thumbnail: GrayImage) -> Bool {
        defer { previous = thumbnail }
        guard let prev = previous, prev.width == thumbnail.width, prev.height == thumbnail.height else {
            lastScore = 0
            return true
        }
        lastScore = Self.histogramDistance(prev, thumbnail) + Self.shiftedDifference(prev, thumbnail, maxShift: maxShift)
        return lastScore > threshold
    }

    public mutating func reset() {
        previous = nil
        lastScore = 0
    }

    /// Normalised 32-bin luma histogram.
    public static func histogram(_ g: GrayImage) -> [Float] {
        var h = [Float](repeating: 0, count: bins)
        for p in g.pixels { h[Int(p) * bins / 256] += 1 }
        let n = Float(g.pixels.count)
        return h.map { $0 / n }
    }

    /// Earth mover's distance between the histograms, as a fraction of the luma range (0...1).
    public static func histogramDistance(_ a: GrayImage, _ b: GrayImage) -> Float {
        let ha = histogram(a), hb = histogram(b)
        var ca: Float = 0, cb: Float = 0, total: Float = 0
        for i in 0..<(bins - 1) {
            ca += ha[i]
            cb += hb[i]
            total += abs(ca - cb)
        }
        return total / Float(bins - 1)
    }

    /// Smallest mean absolute difference (as a fraction of 255) over shifts of up to `maxShift` pixels,
    /// each taken over the overlap of the two pictures.
    public static func shiftedDifference(_ a: GrayImage, _ b: GrayImage, maxShift: Int) -> Float {
        precondition(a.width == b.width && a.height == b.height, "SceneCutDetector: thumbnail sizes differ")
        let w = a.width, h = a.height
        let s = min(maxShift, (w - 1) / 2, (h - 1) / 2)
        var best = Float.infinity
        for sy in -s...s {
            for sx in -s...s {
                var total = 0
                for y in max(0, -sy)..<min(h, h - sy) {
                    let ra = y * w, rb = (y + sy) * w
                    for x in max(0, -sx)..<min(w, w - sx) {
                        total += abs(Int(a.pixels[ra + x]) - Int(b.pixels[rb + x + sx]))
                    }
                }
                let count = (w - abs(sx)) * (h - abs(sy))
                best = min(best, Float(total) / Float(count))
            }
        }
        return best / 255
    }
}
