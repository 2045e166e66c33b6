import CFFmpeg

/// Encodes RGB pictures with their timestamps into an MP4, MOV or MKV file (by extension). The file is
/// written under a temporary name and appears at `path` only after `finish()`; if the writer is dropped
/// before that, the partial file is removed. Nothing identifying is written: no encoder tag, no
/// creation time, no tags unless the caller adds them.
public final class VideoWriter: PacketSink {
    public let path: String
    public let width: Int
    public let height: Int

    private let output: OutputFile
    private let container: OutputContainer
    private let muxer = Muxer()
    private let encoderContext = CodecContext()
    private let videoStream: UnsafeMutablePointer<AVStream>
    private let rgb: Frame
    private let yuv: Frame
    private let scaler: Scaler
    private let packet: Packet
    private var headerWritten = false
    private var finished = false
    private var durations: [Int64: Int64] = [:]
    private var lastPts = Int64.min
    private let fixedQuality: Int32?
    /// The caller's time base; the encoder's differs only where the codec cannot count in it (mpeg4).
    private let inputTimeBase: AVRational
    public private(set) var framesWritten = 0

    /// A writer for pictures of `width`×`height`, timestamps in `timeBase`.
    public convenience init(path: String, width: Int, height: Int, timeBase: Rational, frameRate: Double,
                            options: EncodeOptions = EncodeOptions()) throws {
        let color = ColorInfo(space: ColorInfo.defaultSpace(width: width, height: height), fullRange: false)
        try self.init(path: path, width: width, height: height, timeBase: timeBase, frameRate: frameRate,
                      color: color, options: options, inputs: [])
    }

    init(path: String, width: Int, height: Int, timeBase: Rational, frameRate: Double,
         color: ColorInfo, options: EncodeOptions, inputs: [String]) throws {
        FFmpegLog.ensureConfigured()
        self.path = path
        self.width = width
        self.height = height
        try MediaLimits.check(width: width, height: height, path: path)
        if options.codec != .mpeg4 && (width % 2 != 0 || height % 2 != 0) {
            throw MediaError.oddDimensions(path: path, width: width, height: height)
        }
        container = try OutputContainer(path: path)
        output = try OutputFile(path: path, inputs: inputs)

        try check(avformat_alloc_output_context2(&muxer.ctx, nil, container.rawValue, output.tempPath),
                  "create \(container.rawValue) output", path: path)
        let fmt = muxer.ctx!
        fmt.pointee.flags |= AVFMT_FLAG_BITEXACT

        guard let codec = avcodec_find_encoder_by_name(options.codec.encoderName) else {
            throw MediaError.encoderUnavailable(path: path, encoder: options.codec.encoderName)
        }
        encoderContext.ctx = avcodec_alloc_context3(codec)
        guard let enc = encoderContext.ctx else { throw FFmpegError(code: svia_averror(ENOMEM), operation: "allocate encoder", path: path) }
        enc.pointee.width = Int32(width)
        enc.pointee.height = Int32(height)
        enc.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        inputTimeBase = timeBase.av
        enc.pointee.time_base = options.codec == .mpeg4
            ? VideoWriter.mpeg4TimeBase(timeBase, frameRate: frameRate).av : timeBase.av
        if frameRate > 0 { enc.pointee.framerate = av_d2q(frameRate, 1 << 20) }
        enc.pointee.thread_count = Int32(max(1, options.threads))
        enc.pointee.colorspace = color.space
        enc.pointee.color_range = color.rangeTag
        enc.pointee.color_primaries = color.primaries
        enc.pointee.color_trc = color.transfer
        enc.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
        if fmt.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            enc.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        var opts: OpaquePointer? = nil
        defer { av_dict_free(&opts) }
        switch options.codec {
        case .h264:
            av_dict_set(&opts, "crf", String(options.effectiveCRF), 0)
            av_dict_set(&opts, "preset", options.preset, 0)
            fixedQuality = nil
        case .hevc:
            av_dict_set(&opts, "crf", String(options.effectiveCRF), 0)
            av_dict_set(&opts, "preset", options.preset, 0)
            av_dict_set(&opts, "x265-params", "log-level=error", 0)
            fixedQuality = nil
        case .mpeg4:
            let q = Int32(min(31, max(2, options.effectiveCRF)))
            enc.pointee.flags |= AV_CODEC_FLAG_QSCALE
            enc.pointee.global_quality = FF_QP2LAMBDA * q
            fixedQuality = FF_QP2LAMBDA * q
        }
        for (k, v) in options.codecOptions { av_dict_set(&opts, k, v, 0) }
        try check(avcodec_open2(enc, codec, &opts), "open encoder \(options.codec.encoderName)", path: path)

        guard let st = avformat_new_stream(fmt, nil) else {
            throw FFmpegError(code: svia_averror(ENOMEM), operation: "add video stream", path: path)
        }
        videoStream = st
        try check(avcodec_parameters_from_context(st.pointee.codecpar, enc), "configure video stream", path: path)
        st.pointee.time_base = enc.pointee.time_base
        if options.codec == .hevc && container.isQuickTime {
            st.pointee.codecpar.pointee.codec_tag = fourCC("hvc1")
        }

        rgb = try Frame(width: width, height: height, format: AV_PIX_FMT_RGB24)
        yuv = try Frame(width: width, height: height, format: AV_PIX_FMT_YUV420P)
        scaler = try Scaler(srcWidth: width, srcHeight: height, srcFormat: AV_PIX_FMT_RGB24,
                            dstWidth: width, dstHeight: height, dstFormat: AV_PIX_FMT_YUV420P,
                            color: color, threads: options.threads)
        packet = try Packet()
    }

    deinit {
        muxer.closeIO()
        output.discard()
    }

    private var format: UnsafeMutablePointer<AVFormatContext>? { muxer.ctx }
    private var encoder: UnsafeMutablePointer<AVCodecContext>? { encoderContext.ctx }

    var formatContext: UnsafeMutablePointer<AVFormatContext> { format! }

    /// Adds a stream whose packets the caller copies unchanged; nil when the container cannot hold its codec.
    func addCopiedStream(from input: UnsafeMutablePointer<AVStream>, keepTags: Bool) throws -> UnsafeMutablePointer<AVStream>? {
        precondition(!headerWritten)
        return try MuxStreams.addCopied(to: format!, from: input, keepTags: keepTags, path: path)
    }

    /// Adds a stream fed by an encoder the caller owns.
    func addEncodedStream(from enc: UnsafeMutablePointer<AVCodecContext>, tagsFrom input: UnsafeMutablePointer<AVStream>,
                          keepTags: Bool) throws -> UnsafeMutablePointer<AVStream> {
        precondition(!headerWritten)
        return try MuxStreams.addEncoded(to: format!, from: enc, tagsFrom: input, keepTags: keepTags, path: path)
    }

    func canHold(_ id: AVCodecID) -> Bool { MuxStreams.canHold(id, in: format!) }

    var needsGlobalHeader: Bool { format!.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 }

    func copyGlobalTags(from dict: OpaquePointer?) {
        av_dict_copy(&format!.pointee.metadata, dict, 0)
    }

    /// Video stream tags, except `rotate`: pictures are written upright, so the turn must not be applied twice.
    func copyVideoTags(from dict: OpaquePointer?) {
        av_dict_copy(&videoStream.pointee.metadata, dict, 0)
        av_dict_set(&videoStream.pointee.metadata, "rotate", nil, 0)
    }

    private func startIfNeeded() throws {
        if headerWritten { return }
        let fmt = format!
        try check(avio_open(&fmt.pointee.pb, output.tempPath, AVIO_FLAG_WRITE), "create output file", path: path)
        muxer.ioOpen = true
        var opts: OpaquePointer? = nil
        defer { av_dict_free(&opts) }
        if container.isQuickTime { av_dict_set(&opts, "movflags", "+faststart", 0) }
        try check(avformat_write_header(fmt, &opts), "write header", path: path)
        headerWritten = true
    }

    /// Encodes one picture. `pts` and `duration` are in the writer's time base; pts must increase.
    public func write(_ image: RGBImage, pts: Int64, duration: Int64) throws {
        if image.width != width || image.height != height {
            throw MediaError.pictureSizeChanged(path: path, expected: "\(width)x\(height)", got: "\(image.width)x\(image.height)")
        }
        try startIfNeeded()
        let tb = encoder!.pointee.time_base
        let same = av_cmp_q(tb, inputTimeBase) == 0
        let encPts = same ? pts : av_rescale_q(pts, inputTimeBase, tb)
        let encDuration = same ? duration : max(1, av_rescale_q(duration, inputTimeBase, tb))
        let p = lastPts != Int64.min && encPts <= lastPts ? lastPts.clampedAdding(1) : encPts
        lastPts = p
        try rgb.setPackedBytes(image.pixels, channels: 3)
        try check(av_frame_make_writable(yuv.f), "make frame writable", path: path)
        try scaler.scale(rgb.f, into: yuv.f)
        let f = yuv.f
        f.pointee.pts = p
        f.pointee.pkt_duration = encDuration
        f.pointee.pict_type = AV_PICTURE_TYPE_NONE
        if let q = fixedQuality { f.pointee.quality = q }
        durations[p] = encDuration
        try check(avcodec_send_frame(encoder, f), "encode video", path: path)
        framesWritten += 1
        try drainEncoder()
    }

    private func drainEncoder() throws {
        let enc = encoder!
        let pkt = packet.p
        while true {
            let r = avcodec_receive_packet(enc, pkt)
            if r == FFmpegError.tryAgain || r == FFmpegError.endOfFile { return }
            try check(r, "encode video", path: path)
            if let d = durations.removeValue(forKey: pkt.pointee.pts), pkt.pointee.duration <= 0 {
                pkt.pointee.duration = d
            }
            if durations.count > 1024 {
                // An encoder that drops frames would otherwise leave their entries here for good.
                let done = pkt.pointee.pts
                durations = durations.filter { $0.key > done }
            }
            av_packet_rescale_ts(pkt, enc.pointee.time_base, videoStream.pointee.time_base)
            pkt.pointee.stream_index = videoStream.pointee.index
            try check(av_interleaved_write_frame(format, pkt), "write video", path: path)
        }
    }

    /// Muxes a packet already in `stream`'s input time base `from`, interleaved with the video.
    func writePacket(_ pkt: UnsafeMutablePointer<AVPacket>, from tb: AVRational, to stream: UnsafeMutablePointer<AVStream>) throws {
        try startIfNeeded()
        av_packet_rescale_ts(pkt, tb, stream.pointee.time_base)
        pkt.pointee.stream_index = stream.pointee.index
        pkt.pointee.pos = -1
        try check(av_interleaved_write_frame(format, pkt), "write packet", path: path)
    }

    /// Flushes the encoder, writes the index and moves the file into place.
    public func finish() throws {
        precondition(!finished, "VideoWriter.finish called twice")
        finished = true
        try startIfNeeded()
        try check(avcodec_send_frame(encoder, nil), "flush encoder", path: path)
        try drainEncoder()
        try check(av_write_trailer(format), "finish file", path: path)
        muxer.closeIO()
        try output.commit()
    }

    var hasStarted: Bool { headerWritten }
    func start() throws { try startIfNeeded() }
}

extension VideoWriter {
    /// MPEG-4 Part 2 counts time in at most 65535 ticks per unit. A finer time base (90 kHz from MPEG-TS)
    /// is divided by the smallest factor that still counts whole frame durations, so timestamps stay exact
    /// for constant-rate input. A denominator with no such factor (a large prime) falls back to a time
    /// base derived from the frame rate; timestamps are then rounded to it.
    static func mpeg4TimeBase(_ tb: Rational, frameRate: Double) -> Rational {
        if tb.den <= 65535 { return tb }
        let ticks = frameRate > 0 ? Int.clamped((Double(tb.den) / (Double(tb.num) * frameRate)).rounded()) : 0
        // Divisors found by trial division up to the square root: at most 46341 steps for any Int32.
        var divisors: [Int] = []
        var d = 2
        while d * d <= tb.den {
            if tb.den % d == 0 { divisors.append(d); divisors.append(tb.den / d) }
            d += 1
        }
        divisors.append(tb.den)
        var fallback: Rational? = nil
        for d in Set(divisors).sorted() where tb.den / d <= 65535 {
            if ticks > 0 && ticks % d == 0 { return Rational(num: tb.num, den: tb.den / d) }
            if fallback == nil { fallback = Rational(num: tb.num, den: tb.den / d) }
            if tb.den / d < 1000 { break }
        }
        if let fallback, fallback.den >= 1000 { return fallback }
        let perSecond = frameRate > 0 ? Int.clamped((frameRate * 1000).rounded(), nan: 65535) : 65535
        return Rational(num: 1, den: min(65535, max(1000, perSecond)))
    }
}

func fourCC(_ s: String) -> UInt32 {
    s.utf8.prefix(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
}
