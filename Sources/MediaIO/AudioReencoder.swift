import CFFmpeg

/// A muxer that takes streams fed by the caller: the encoding `VideoWriter`, or the stream-copying
/// `SegmentJoiner`'s output.
protocol PacketSink: AnyObject {
    var needsGlobalHeader: Bool { get }
    func addEncodedStream(from enc: UnsafeMutablePointer<AVCodecContext>, tagsFrom input: UnsafeMutablePointer<AVStream>,
                          keepTags: Bool) throws -> UnsafeMutablePointer<AVStream>
    func writePacket(_ pkt: UnsafeMutablePointer<AVPacket>, from tb: AVRational, to stream: UnsafeMutablePointer<AVStream>) throws
}

/// Decodes an audio stream and encodes it to AAC, for containers that cannot hold the original codec
/// (PCM from a `.MOV` dashcam into MP4). Samples are converted to planar float and regrouped into the
/// encoder's frame size here, so no resampling library is needed: the sample rate is kept.
final class AudioReencoder {
    private let path: String
    private let inputTimeBase: AVRational
    private let decoder: Decoder
    private let encoderContext = CodecContext()
    private var encoder: UnsafeMutablePointer<AVCodecContext>? { encoderContext.ctx }
    private let frame: Frame
    private let packet: Packet
    private let writer: PacketSink
    let stream: UnsafeMutablePointer<AVStream>
    private var pending: [[Float]]
    private var nextPts: Int64 = svia_nopts_value()
    private let channels: Int
    private let frameSize: Int

    init(input st: UnsafeMutablePointer<AVStream>, writer: PacketSink, keepTags: Bool, path: String) throws {
        self.path = path
        self.writer = writer
        inputTimeBase = st.pointee.time_base
        guard let dcodec = avcodec_find_decoder(st.pointee.codecpar.pointee.codec_id) else {
            throw FFmpegError(code: svia_averror_decoder_not_found(), operation: "find audio decoder", path: path)
        }
        decoder = try Decoder(stream: st, codec: dcodec, threads: 1, path: path)
        guard let ecodec = avcodec_find_encoder(AV_CODEC_ID_AAC) else {
            throw MediaError.encoderUnavailable(path: path, encoder: "aac")
        }
        encoderContext.ctx = avcodec_alloc_context3(ecodec)
        guard let enc = encoderContext.ctx else { throw FFmpegError(code: svia_averror(ENOMEM), operation: "allocate audio encoder", path: path) }
        let dec = decoder.c
        channels = Int(dec.pointee.ch_layout.nb_channels)
        if dec.pointee.ch_layout.order == AV_CHANNEL_ORDER_NATIVE {
            try check(av_channel_layout_copy(&enc.pointee.ch_layout, &dec.pointee.ch_layout), "audio channels", path: path)
        } else {
            av_channel_layout_default(&enc.pointee.ch_layout, Int32(channels))
        }
        enc.pointee.sample_rate = dec.pointee.sample_rate
        enc.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        enc.pointee.bit_rate = Int64(96_000 * max(1, min(channels, 2)))
        enc.pointee.time_base = AVRational(num: 1, den: dec.pointee.sample_rate)
        if writer.needsGlobalHeader { enc.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        try check(avcodec_open2(enc, ecodec, nil), "open AAC encoder", path: path)
        frameSize = enc.pointee.frame_size > 0 ? Int(enc.pointee.frame_size) : 1024
        stream = try writer.addEncodedStream(from: enc, tagsFrom: st, keepTags: keepTags)
        frame = try Frame()
        packet = try Packet()
        pending = Array(repeating: [], count: channels)
    }

    func push(_ pkt: UnsafeMutablePointer<AVPacket>) throws {
        let r = avcodec_send_packet(decoder.c, pkt)
        if r < 0 && r != FFmpegError.tryAgain && r != FFmpegError.invalidData {
            throw FFmpegError(code: r, operation: "decode audio", path: path)
        }
        try drainDecoder()
    }

    func finish() throws {
        _ = avcodec_send_packet(decoder.c, nil)
        try drainDecoder()
        try encodePending(final: true)
        try check(avcodec_send_frame(encoder, nil), "flush audio encoder", path: path)
        try drainEncoder()
    }

    private func drainDecoder() throws {
        while true {
            let r = avcodec_receive_frame(decoder.c, frame.f)
            if r == FFmpegError.tryAgain || r == FFmpegError.endOfFile { return }
            if r == FFmpegError.invalidData { continue }
            try check(r, "decode audio", path: path)
            defer { av_frame_unref(frame.f) }
            if nextPts == svia_nopts_value() {
                let pts = frame.f.pointee.best_effort_timestamp
                nextPts = pts == svia_nopts_value() ? 0
                    : av_rescale_q(pts, inputTimeBase, encoder!.pointee.time_base)
            }
            appendSamples(frame.f)
            try encodePending(final: false)
        }
    }

    /// Appends a decoded frame's samples, converted to float, to the per-channel queues. A frame's channel
    /// count can differ from the encoder's (a recording whose layout changes mid-stream): a mono frame feeds
    /// every channel, missing channels get silence and extra ones are left out, so every queue grows alike.
    private func appendSamples(_ f: UnsafeMutablePointer<AVFrame>) {
        let n = Int(f.pointee.nb_samples)
        let fmt = AVSampleFormat(rawValue: f.pointee.format)
        let planar = av_sample_fmt_is_planar(fmt) != 0
        let packed = av_get_packed_sample_fmt(fmt)
        let frameChannels = Int(f.pointee.ch_layout.nb_channels)
        for c in 0..<channels {
            let source = c < frameChannels ? c : (frameChannels == 1 ? 0 : -1)
            guard n > 0, source >= 0, let data = f.pointee.extended_data?[planar ? source : 0] else {
                pending[c].append(contentsOf: repeatElement(0, count: max(0, n)))
                continue
            }
            let plane = UnsafeRawPointer(data)
            let step = planar ? 1 : frameChannels
            let first = planar ? 0 : source
            var out = [Float](repeating: 0, count: n)
            for i in 0..<n {
                let j = first + i * step
                switch packed {
                case AV_SAMPLE_FMT_U8: out[i] = (Float(plane.load(fromByteOffset: j, as: UInt8.self)) - 128) / 128
                case AV_SAMPLE_FMT_S16: out[i] = Float(plane.load(fromByteOffset: j * 2, as: Int16.self)) / 32768
                case AV_SAMPLE_FMT_S32: out[i] = Float(Double(plane.load(fromByteOffset: j * 4, as: Int32.self)) / 2147483648)
                case AV_SAMPLE_FMT_S64: out[i] = Float(Double(plane.load(fromByteOffset: j * 8, as: Int64.self)) / 9223372036854775808)
                case AV_SAMPLE_FMT_FLT: out[i] = plane.load(fromByteOffset: j * 4, as: Float.self)
                case AV_SAMPLE_FMT_DBL: out[i] = Float(plane.load(fromByteOffset: j * 8, as: Double.self))
                default: out[i] = 0
                }
            }
            pending[c].append(contentsOf: out)
        }
    }

    private func encodePending(final: Bool) throws {
        let enc = encoder!
        while let count = pending.map(\.count).min(), count >= frameSize || (final && count > 0) {
            let n = min(count, frameSize)
            let out = try Frame()
            let f = out.f
            f.pointee.nb_samples = Int32(n)
            f.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
            f.pointee.sample_rate = enc.pointee.sample_rate
            try check(av_channel_layout_copy(&f.pointee.ch_layout, &enc.pointee.ch_layout), "audio channels", path: path)
            try check(av_frame_get_buffer(f, 0), "allocate audio frame", path: path)
            for c in 0..<channels {
                let dst = UnsafeMutableRawPointer(f.pointee.extended_data[c]!).assumingMemoryBound(to: Float.self)
                pending[c].withUnsafeBufferPointer { dst.update(from: $0.baseAddress!, count: n) }
                pending[c].removeFirst(n)
            }
            f.pointee.pts = nextPts
            nextPts = nextPts.clampedAdding(Int64(n))
            try check(avcodec_send_frame(enc, f), "encode audio", path: path)
            try drainEncoder()
        }
    }

    private func drainEncoder() throws {
        let pkt = packet.p
        while true {
            let r = avcodec_receive_packet(encoder, pkt)
            if r == FFmpegError.tryAgain || r == FFmpegError.endOfFile { return }
            try check(r, "encode audio", path: path)
            try writer.writePacket(pkt, from: encoder!.pointee.time_base, to: stream)
        }
    }
}
