import CFFmpeg

/// One decoded picture, upright, with its timing in the stream's time base.
public struct VideoFrame: Sendable {
    public var image: RGBImage
    public var pts: Int64
    public var duration: Int64
    public var index: Int
    public var isKeyframe: Bool
    public var seconds: Double
}

/// What a video holds, known once it is opened.
public struct VideoInfo: Sendable {
    /// Display size, after the rotation is applied.
    public var width: Int
    public var height: Int
    /// Clockwise turn applied to every decoded picture.
    public var rotationDegrees: Int
    public var timeBase: Rational
    public var frameRate: Double
    /// The frame count in the container's index, when it has one.
    public var expectedFrameCount: Int?
    public var durationSeconds: Double?
    public var formatName: String
    public var codecName: String
    public var streams: [StreamInfo]
    public var hasAudio: Bool
    public var videoStreamIndex: Int
}

/// The owned decoder (`AVCodecContext`) of one stream, freed in `deinit`.
final class Decoder {
    var ctx: UnsafeMutablePointer<AVCodecContext>?

    init(stream: UnsafeMutablePointer<AVStream>, codec: UnsafePointer<AVCodec>, threads: Int, path: String) throws {
        ctx = avcodec_alloc_context3(codec)
        guard let c = ctx else { throw FFmpegError(code: svia_averror(ENOMEM), operation: "allocate decoder", path: path) }
        try check(avcodec_parameters_to_context(c, stream.pointee.codecpar), "configure decoder", path: path)
        c.pointee.pkt_timebase = stream.pointee.time_base
        c.pointee.thread_count = Int32(threads)
        c.pointee.max_pixels = Int64(MediaLimits.maxPixels)
        try check(avcodec_open2(c, codec, nil), "open decoder \(String(cString: codec.pointee.name))", path: path)
    }

    var c: UnsafeMutablePointer<AVCodecContext> { ctx! }
    deinit { avcodec_free_context(&ctx) }
}

/// Streams a video's pictures as upright RGB frames with their timestamps, one at a time; memory does not
/// grow with the length of the video. Packets of other streams go to `otherPacket` when it is set.
public final class VideoReader {
    public let path: String
    public let info: VideoInfo
    public private(set) var decodedFrames = 0
    public private(set) var decodeErrors = 0
    /// Known after the last frame: fewer frames decoded than the index promised, or the file ended mid-packet.
    public private(set) var isTruncated = false

    let input: InputFile
    let videoIndex: Int
    let color: ColorInfo
    var otherPacket: ((UnsafeMutablePointer<AVPacket>) throws -> Void)?

    private let decoder: Decoder
    private let packet: Packet
    private let frame: Frame
    private var rgb: Frame?
    private var scaler: Scaler?
    private var scalerKey: (Int32, Int32, Int32) = (0, 0, -1)
    private var demuxDone = false
    private var flushed = false
    private var finished = false
    private var readFailed = false
    private var lastPts: Int64 = Int64.min
    private var lastDuration: Int64 = 0
    private let defaultDuration: Int64
    private let keyframesOnly: Bool
    /// The size of the first decoded picture, before rotation; every later picture is scaled to it.
    private var codedSize: (Int, Int)?
    /// Set once the reader has sought: the index's frame count no longer says whether the file is cut off.
    private var sought = false

    public convenience init(path: String) throws {
        try self.init(path: path, keyframesOnly: false)
    }

    init(path: String, keyframesOnly: Bool, threads: Int = 2) throws {
        self.path = path
        self.keyframesOnly = keyframesOnly
        input = try InputFile(path: path)
        let (idx, codec) = try input.videoStream()
        videoIndex = idx
        let st = input.stream(idx)
        decoder = try Decoder(stream: st, codec: codec, threads: threads, path: path)
        if keyframesOnly { decoder.c.pointee.skip_frame = AVDISCARD_NONKEY }
        packet = try Packet()
        frame = try Frame()

        let par = st.pointee.codecpar!
        let w = Int(par.pointee.width), h = Int(par.pointee.height)
        color = ColorInfo(parameters: par)

        let rotation = displayRotation(st)
        let tb = st.pointee.time_base
        let fr = av_guess_frame_rate(input.ctx, st, nil)
        let rate = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 0
        var duration: Double? = nil
        if st.pointee.duration > 0 && st.pointee.duration != svia_nopts_value() {
            duration = Double(st.pointee.duration) * av_q2d(tb)
        } else if input.ctx.pointee.duration > 0 && input.ctx.pointee.duration != svia_nopts_value() {
            duration = Double(input.ctx.pointee.duration) / Double(AV_TIME_BASE)
        }
        defaultDuration = rate > 0 ? max(1, Int64.clamped((Double(tb.den) / (rate * Double(tb.num))).rounded(), nan: 1)) : 1
        let inp = input
        let streams = (0..<inp.streamCount).map { StreamInfo(inp.stream($0)) }
        info = VideoInfo(
            width: rotation % 180 == 0 ? w : h, height: rotation % 180 == 0 ? h : w,
            rotationDegrees: rotation, timeBase: Rational(tb), frameRate: rate,
            expectedFrameCount: st.pointee.nb_frames > 0 ? Int(st.pointee.nb_frames) : nil,
            durationSeconds: duration, formatName: input.formatName,
            codecName: String(cString: avcodec_get_name(par.pointee.codec_id)),
            streams: streams, hasAudio: streams.contains { $0.kind == .audio },
            videoStreamIndex: idx)
    }

    var stream: UnsafeMutablePointer<AVStream> { input.stream(videoIndex) }

    /// Moves to the last keyframe at or before `pts` (the video stream's time base); the next frame comes
    /// from there. Frame indices then count from the keyframe.
    func seek(toPts pts: Int64) throws {
        try check(av_seek_frame(input.ctx, Int32(videoIndex), pts, AVSEEK_FLAG_BACKWARD), "seek", path: path)
        avcodec_flush_buffers(decoder.c)
        demuxDone = false
        flushed = false
        finished = false
        lastPts = Int64.min
        decodedFrames = 0
        sought = true
    }

    /// The next picture, or nil at the end of the video.
    public func nextFrame() throws -> VideoFrame? {
        while !finished {
            if let f = try receive() { return f }
            if finished { break }
            if demuxDone {
                if flushed { continue }
                _ = avcodec_send_packet(decoder.c, nil)
                flushed = true
                continue
            }
            try readPacket()
        }
        return nil
    }

    private func readPacket() throws {
        let pkt = packet.p
        let r = av_read_frame(input.ctx, pkt)
        if r < 0 {
            if r != FFmpegError.endOfFile { readFailed = true }
            demuxDone = true
            return
        }
        defer { av_packet_unref(pkt) }
        if Int(pkt.pointee.stream_index) == videoIndex {
            let s = avcodec_send_packet(decoder.c, pkt)
            // A damaged packet costs its picture, not the video.
            if s < 0 && s != FFmpegError.tryAgain && s != FFmpegError.endOfFile { decodeErrors += 1 }
        } else if let otherPacket {
            try otherPacket(pkt)
        }
    }

    private func receive() throws -> VideoFrame? {
        while true {
            let r = avcodec_receive_frame(decoder.c, frame.f)
            if r == FFmpegError.tryAgain { return nil }
            if r == FFmpegError.endOfFile {
                finished = true
                if let n = info.expectedFrameCount, decodedFrames < n, !keyframesOnly, !sought { isTruncated = true }
                if readFailed { isTruncated = true }
                return nil
            }
            if r < 0 {
                decodeErrors += 1
                if r == FFmpegError.invalidData { continue }
                throw FFmpegError(code: r, operation: "decode video", path: path)
            }
            defer { av_frame_unref(frame.f) }
            return try convert(frame.f)
        }
    }

    private func convert(_ f: UnsafeMutablePointer<AVFrame>) throws -> VideoFrame {
        let w = f.pointee.width, h = f.pointee.height
        try MediaLimits.check(width: Int(w), height: Int(h), path: path)
        // Every picture comes out at the first picture's size: a recording whose resolution changes
        // mid-stream (two clips joined) has its later pictures scaled to the first size.
        if codedSize == nil { codedSize = (Int(w), Int(h)) }
        let (ow, oh) = codedSize!
        if scaler == nil || scalerKey != (w, h, f.pointee.format) {
            scaler = try Scaler(srcWidth: Int(w), srcHeight: Int(h), srcFormat: AVPixelFormat(rawValue: f.pointee.format),
                                dstWidth: ow, dstHeight: oh, dstFormat: AV_PIX_FMT_RGB24, color: color)
            rgb = try Frame(width: ow, height: oh, format: AV_PIX_FMT_RGB24)
            scalerKey = (w, h, f.pointee.format)
        }
        try scaler!.scale(f, into: rgb!.f)
        var image = RGBImage(width: ow, height: oh, pixels: rgb!.packedBytes(channels: 3))
        if info.rotationDegrees != 0 { image = image.rotated(clockwise: info.rotationDegrees) }

        var pts = f.pointee.best_effort_timestamp
        if pts == svia_nopts_value() { pts = lastPts == Int64.min ? 0 : lastPts.clampedAdding(max(lastDuration, 1)) }
        if lastPts != Int64.min && pts <= lastPts { pts = lastPts.clampedAdding(1) }
        var duration = f.pointee.pkt_duration
        if duration <= 0 { duration = defaultDuration }
        lastPts = pts
        lastDuration = duration
        let index = decodedFrames
        decodedFrames += 1
        return VideoFrame(image: image, pts: pts, duration: duration, index: index,
                          isKeyframe: f.pointee.key_frame != 0,
                          seconds: Double(pts) * info.timeBase.value)
    }
}
