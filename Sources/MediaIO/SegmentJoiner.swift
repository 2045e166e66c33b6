import CFFmpeg
import Foundation

/// Joins video segments (each starting with an IDR picture, closed GOPs, the source's timestamps) into
/// one file by stream copy, and carries the source's other streams once, as a transcode of the whole
/// file would: audio per `EncodeOptions.audio`, tags and data streams only with `keepMetadata`.
public enum SegmentJoiner {
    public struct SegmentError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes `output` from `segments` (in order) and the non-video streams of `source`. With `trim`,
    /// timestamps are shifted so the first frame is at 0, and only the source packets within the
    /// segments' time span are carried (a part of a video). `expectedFrames`, when given, is checked
    /// against each segment's frame count. `offsets` (the source's video time base) are added to each
    /// segment's timestamps (`VideoTranscoder.runRange` writes them less the range's start). The output
    /// appears only when complete.
    public static func join(segments: [String], offsets: [Int64], source: String, output: String, options: EncodeOptions,
                            trim: Bool = false, expectedFrames: [Int]? = nil) throws -> TranscodeReport {
        precondition(offsets.count == segments.count)
        let started = Date()
        guard let firstPath = segments.first else { throw SegmentError(description: "\(output): no segments to join") }
        let src = try InputFile(path: source)
        let (srcVideo, _) = try src.videoStream()
        let first = try InputFile(path: firstPath)
        let (firstVideo, _) = try first.videoStream()
        let videoIn = first.stream(firstVideo)
        let videoTb = videoIn.pointee.time_base
        let sourceTb = src.stream(srcVideo).pointee.time_base

        let out = try CopyOutput(path: output, inputs: [source] + segments)
        let videoOut = try out.addVideo(from: videoIn, codec: options.codec)
        var dropped: [String] = []
        var stripped: [String] = []
        var audioState = "none"
        var routes: [Int: (AVRational, UnsafeMutablePointer<AVStream>?, AudioReencoder?)] = [:]
        var reencoders: [AudioReencoder] = []
        if options.keepMetadata {
            av_dict_copy(&out.format.pointee.metadata, src.ctx.pointee.metadata, 0)
            av_dict_copy(&videoOut.pointee.metadata, src.stream(srcVideo).pointee.metadata, 0)
            av_dict_set(&videoOut.pointee.metadata, "rotate", nil, 0)
        } else {
            stripped += dictionaryEntries(src.ctx.pointee.metadata).keys.filter { !VideoTranscoder.structuralTags.contains($0) }.sorted()
        }
        for i in 0..<src.streamCount {
            let st = src.stream(i)
            let s = StreamInfo(st)
            if !options.keepMetadata {
                let kept: Set<String> = s.kind == .video ? [] : ["language"]
                stripped += s.tags.keys.filter { !kept.contains($0) }.sorted().map { "#\(i) \($0)" }
            }
            if i == srcVideo { continue }
            let label = "#\(i) \(s.kind.rawValue) (\(s.codec))"
            switch s.kind {
            case .audio:
                if audioState == "none" { audioState = "dropped" }
                guard options.audio == .keep else { continue }
                if let o = try out.addCopiedStream(from: st, keepTags: options.keepMetadata) {
                    routes[i] = (st.pointee.time_base, o, nil)
                    audioState = "copied"
                } else {
                    let re = try AudioReencoder(input: st, writer: out, keepTags: options.keepMetadata, path: source)
                    routes[i] = (st.pointee.time_base, nil, re)
                    reencoders.append(re)
                    audioState = "re-encoded to aac"
                }
            case .subtitle, .data:
                if options.keepMetadata, let o = try out.addCopiedStream(from: st, keepTags: true) {
                    routes[i] = (st.pointee.time_base, o, nil)
                } else {
                    dropped.append(label)
                }
            default:
                dropped.append(label)
            }
        }
        try out.start()

        // The source's other packets are read as the video advances, so that memory stays flat.
        let srcPacket = try Packet()
        var srcPending = false
        var srcDone = routes.isEmpty
        var shift: Int64? = trim ? nil : 0
        var window: (start: Double, end: Double) = (-.infinity, .infinity)
        func pumpSource(upTo t: Double) throws {
            while !srcDone {
                if !srcPending {
                    if av_read_frame(src.ctx, srcPacket.p) < 0 { srcDone = true; return }
                    srcPending = true
                }
                let p = srcPacket.p
                guard let route = routes[Int(p.pointee.stream_index)] else {
                    av_packet_unref(p)
                    srcPending = false
                    continue
                }
                let ts = p.pointee.dts != svia_nopts_value() ? p.pointee.dts : p.pointee.pts
                let seconds = ts == svia_nopts_value() ? -Double.infinity : Double(ts) * av_q2d(route.0)
                if seconds > t { return }
                defer { av_packet_unref(p); srcPending = false }
                let pts = p.pointee.pts == svia_nopts_value() ? seconds : Double(p.pointee.pts) * av_q2d(route.0)
                if pts < window.start || pts >= window.end { continue }
                if let s = shift, s != 0 {
                    let d = av_rescale_q(s, videoTb, route.0)
                    if p.pointee.pts != svia_nopts_value() { p.pointee.pts -= d }
                    if p.pointee.dts != svia_nopts_value() { p.pointee.dts -= d }
                }
                if let o = route.1 { try out.writePacket(p, from: route.0, to: o) } else { try route.2!.push(p) }
            }
        }

        let packet = try Packet()
        var lastDts = Int64.min
        var total = 0
        var end: Int64 = Int64.min
        for (n, path) in segments.enumerated() {
            let seg = n == 0 ? first : try InputFile(path: path)
            let (si, _) = try seg.videoStream()
            let segTb = seg.stream(si).pointee.time_base
            var count = 0
            while av_read_frame(seg.ctx, packet.p) >= 0 {
                defer { av_packet_unref(packet.p) }
                let p = packet.p
                guard Int(p.pointee.stream_index) == si else { continue }
                av_packet_rescale_ts(p, segTb, videoTb)
                let offset = av_rescale_q(offsets[n], sourceTb, videoTb)
                if p.pointee.pts != svia_nopts_value() { p.pointee.pts += offset }
                if p.pointee.dts != svia_nopts_value() { p.pointee.dts += offset }
                if shift == nil {
                    shift = p.pointee.pts
                    window.start = Double(p.pointee.pts) * av_q2d(videoTb)
                }
                if p.pointee.pts != svia_nopts_value() {
                    end = max(end, p.pointee.pts + max(0, p.pointee.duration))
                    p.pointee.pts -= shift!
                }
                if p.pointee.dts != svia_nopts_value() {
                    p.pointee.dts -= shift!
                    if lastDts != Int64.min && p.pointee.dts <= lastDts { p.pointee.dts = lastDts + 1 }
                    lastDts = p.pointee.dts
                }
                try pumpSource(upTo: Double(lastDts + shift!) * av_q2d(videoTb))
                try out.writePacket(p, from: videoTb, to: videoOut)
                count += 1
            }
            if let expectedFrames, n < expectedFrames.count, expectedFrames[n] != count {
                throw SegmentError(description: "\(path): holds \(count) frames, its report says \(expectedFrames[n]); run its shard again")
            }
            if count == 0 { throw SegmentError(description: "\(path): segment holds no video") }
            total += count
        }
        if trim { window.end = Double(end) * av_q2d(videoTb) }
        try pumpSource(upTo: .infinity)
        for re in reencoders { try re.finish() }
        try out.finish()
        return TranscodeReport(frames: total, expectedFrames: nil, truncated: false, decodeErrors: 0,
                               droppedStreams: dropped, strippedTags: stripped, audio: audioState,
                               seconds: Date().timeIntervalSince(started))
    }
}

/// An output whose streams are all fed with packets: copied ones, or an encoder the caller owns.
final class CopyOutput: PacketSink {
    let path: String
    private let output: OutputFile
    private let container: OutputContainer
    private let muxer = Muxer()
    private var headerWritten = false

    init(path: String, inputs: [String]) throws {
        FFmpegLog.ensureConfigured()
        self.path = path
        container = try OutputContainer(path: path)
        output = try OutputFile(path: path, inputs: inputs)
        try check(avformat_alloc_output_context2(&muxer.ctx, nil, container.rawValue, output.tempPath),
                  "create \(container.rawValue) output", path: path)
        muxer.ctx!.pointee.flags |= AVFMT_FLAG_BITEXACT
    }

    deinit {
        muxer.closeIO()
        output.discard()
    }

    var format: UnsafeMutablePointer<AVFormatContext> { muxer.ctx! }
    var needsGlobalHeader: Bool { format.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 }

    func addVideo(from input: UnsafeMutablePointer<AVStream>, codec: VideoCodecChoice) throws -> UnsafeMutablePointer<AVStream> {
        guard let st = avformat_new_stream(format, nil) else {
            throw FFmpegError(code: svia_averror(ENOMEM), operation: "add video stream", path: path)
        }
        try check(avcodec_parameters_copy(st.pointee.codecpar, input.pointee.codecpar), "copy video parameters", path: path)
        st.pointee.codecpar.pointee.codec_tag = codec == .hevc && container.isQuickTime ? fourCC("hvc1") : 0
        st.pointee.time_base = input.pointee.time_base
        st.pointee.avg_frame_rate = input.pointee.avg_frame_rate
        return st
    }

    /// A stream whose packets are copied unchanged; nil when the container cannot hold its codec.
    func addCopiedStream(from input: UnsafeMutablePointer<AVStream>, keepTags: Bool) throws -> UnsafeMutablePointer<AVStream>? {
        try MuxStreams.addCopied(to: format, from: input, keepTags: keepTags, path: path)
    }

    func addEncodedStream(from enc: UnsafeMutablePointer<AVCodecContext>, tagsFrom input: UnsafeMutablePointer<AVStream>,
                          keepTags: Bool) throws -> UnsafeMutablePointer<AVStream> {
        try MuxStreams.addEncoded(to: format, from: enc, tagsFrom: input, keepTags: keepTags, path: path)
    }

    func start() throws {
        if headerWritten { return }
        try check(avio_open(&format.pointee.pb, output.tempPath, AVIO_FLAG_WRITE), "create output file", path: path)
        muxer.ioOpen = true
        var opts: OpaquePointer? = nil
        defer { av_dict_free(&opts) }
        if container.isQuickTime { av_dict_set(&opts, "movflags", "+faststart", 0) }
        try check(avformat_write_header(format, &opts), "write header", path: path)
        headerWritten = true
    }

    func writePacket(_ pkt: UnsafeMutablePointer<AVPacket>, from tb: AVRational, to stream: UnsafeMutablePointer<AVStream>) throws {
        try start()
        av_packet_rescale_ts(pkt, tb, stream.pointee.time_base)
        pkt.pointee.stream_index = stream.pointee.index
        pkt.pointee.pos = -1
        try check(av_interleaved_write_frame(format, pkt), "write packet", path: path)
    }

    func finish() throws {
        try start()
        try check(av_write_trailer(format), "finish file", path: path)
        muxer.closeIO()
        try output.commit()
    }
}
