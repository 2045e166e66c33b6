import CFFmpeg

/// A video's frames as its container lists them, read without decoding: each frame's presentation
/// time in order, and which frames are codec keyframes (where decoding can start and where an encoded
/// segment can be cut and joined).
public struct VideoTimeline: Sendable, Equatable {
    public var timeBase: Rational
    public var width: Int
    public var height: Int
    public var frameRate: Double
    /// Presentation timestamps of the video's frames, ascending (frame index = position).
    public var pts: [Int64]
    /// Indices (into `pts`) of the frames that are codec keyframes, ascending; frame 0 is always one.
    public var keyframes: [Int]

    public init(timeBase: Rational, width: Int, height: Int, frameRate: Double, pts: [Int64], keyframes: [Int]) {
        self.timeBase = timeBase
        self.width = width
        self.height = height
        self.frameRate = frameRate
        self.pts = pts
        self.keyframes = keyframes
    }

    public var frameCount: Int { pts.count }

    /// Seconds from the video's first frame to `index` (or to the end for `frameCount`).
    public func seconds(at index: Int) -> Double {
        guard let first = pts.first else { return 0 }
        let p = index < pts.count ? pts[index] : (pts.last! + Int64(max(1, (1 / max(frameRate, 1e-3)) / max(timeBase.value, 1e-12))))
        return Double(p - first) * timeBase.value
    }

    /// Reads every packet of the video stream of `path` (no decoding).
    public static func scan(path: String) throws -> VideoTimeline {
        let input = try InputFile(path: path)
        let (idx, _) = try input.videoStream()
        let st = input.stream(idx)
        let tb = st.pointee.time_base
        let fr = av_guess_frame_rate(input.ctx, st, nil)
        let par = st.pointee.codecpar!
        let packet = try Packet()
        var frames: [(pts: Int64, key: Bool)] = []
        while true {
            let r = av_read_frame(input.ctx, packet.p)
            if r < 0 { break }
            defer { av_packet_unref(packet.p) }
            guard Int(packet.p.pointee.stream_index) == idx else { continue }
            var pts = packet.p.pointee.pts
            if pts == svia_nopts_value() { pts = packet.p.pointee.dts }
            if pts == svia_nopts_value() { pts = (frames.last?.pts ?? -1) + 1 }
            frames.append((pts, packet.p.pointee.flags & AV_PKT_FLAG_KEY != 0))
        }
        if frames.isEmpty { throw MediaError.noFrames(path: path) }
        // Stable: equal timestamps keep their decode order.
        let order = frames.indices.sorted { (frames[$0].pts, $0) < (frames[$1].pts, $1) }
        var keyframes: [Int] = []
        for (i, j) in order.enumerated() where frames[j].key || i == 0 { keyframes.append(i) }
        return VideoTimeline(timeBase: Rational(tb), width: Int(par.pointee.width), height: Int(par.pointee.height),
                             frameRate: fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 0,
                             pts: order.map { frames[$0].pts }, keyframes: keyframes)
    }
}
