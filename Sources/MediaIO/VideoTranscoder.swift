import CFFmpeg
import Foundation

/// What a transcode did, for logs and for the user.
public struct TranscodeReport: Sendable, Codable, Equatable {
    public var frames: Int
    public var expectedFrames: Int?
    public var truncated: Bool
    public var decodeErrors: Int
    /// Streams left out, e.g. `"#2 subtitle (mov_text)"`.
    public var droppedStreams: [String]
    /// Tags not carried over, e.g. `"location"`, `"#0 handler_name"`.
    public var strippedTags: [String]
    /// `"dropped"`, `"none"`, `"copied"` or `"re-encoded to aac"`.
    public var audio: String
    public var seconds: Double
}

/// Decode → transform → encode, one frame at a time, with the input's timestamps kept exactly.
public enum VideoTranscoder {
    private enum Route {
        case copy(out: UnsafeMutablePointer<AVStream>, timeBase: AVRational)
        case reencode(AudioReencoder)
    }

    /// Container tags every MP4/MOV muxer writes itself; they identify nothing.
    static let structuralTags: Set<String> = ["major_brand", "minor_version", "compatible_brands"]

    /// Reads `input`, passes each upright RGB frame through `transform`, and writes `output` (container
    /// from its extension). The output appears only when complete. `progress` gets (frames done,
    /// expected frames when known). `transform` must return a picture of the same size.
    public static func run(input: String, output: String, options: EncodeOptions = EncodeOptions(),
                           progress: ((Int, Int?) -> Void)? = nil,
                           transform: (VideoFrame) throws -> RGBImage) throws -> TranscodeReport {
        let started = Date()
        let reader = try VideoReader(path: input, keyframesOnly: false, threads: options.threads)
        let info = reader.info
        // The output takes the first picture's size (the stream's parameters may describe a later part of a
        // joined recording); packets of other streams read before it are kept for after the setup.
        var early: [UnsafeMutablePointer<AVPacket>?] = []
        defer { for i in early.indices { av_packet_free(&early[i]) } }
        reader.otherPacket = { pkt in early.append(av_packet_clone(pkt)) }
        guard let first = try reader.nextFrame() else { throw MediaError.noFrames(path: input) }
        let writer = try VideoWriter(path: output, width: first.image.width, height: first.image.height, timeBase: info.timeBase,
                                     frameRate: info.frameRate, color: reader.color, options: options, inputs: [input])
        let ictx = reader.input.ctx
        var dropped: [String] = []
        var stripped: [String] = []
        var audioState = info.hasAudio ? "dropped" : "none"
        var routes: [Int: Route] = [:]
        var reencoders: [AudioReencoder] = []

        if options.keepMetadata {
            writer.copyGlobalTags(from: ictx.pointee.metadata)
            writer.copyVideoTags(from: reader.stream.pointee.metadata)
        } else {
            stripped += dictionaryEntries(ictx.pointee.metadata).keys.filter { !structuralTags.contains($0) }.sorted()
        }
        for i in 0..<reader.input.streamCount {
            let st = reader.input.stream(i)
            let s = StreamInfo(st)
            let label = "#\(i) \(s.kind.rawValue) (\(s.codec))"
            if !options.keepMetadata {
                let kept: Set<String> = s.kind == .video ? [] : ["language"]
                stripped += s.tags.keys.filter { !kept.contains($0) }.sorted().map { "#\(i) \($0)" }
            }
            if i == reader.videoIndex { continue }
            switch s.kind {
            case .audio where options.audio == .keep:
                if let out = try writer.addCopiedStream(from: st, keepTags: options.keepMetadata) {
                    routes[i] = .copy(out: out, timeBase: st.pointee.time_base)
                    audioState = "copied"
                } else {
                    let re = try AudioReencoder(input: st, writer: writer, keepTags: options.keepMetadata, path: input)
                    routes[i] = .reencode(re)
                    reencoders.append(re)
                    audioState = "re-encoded to aac"
                }
            case .subtitle, .data:
                if options.keepMetadata, let out = try writer.addCopiedStream(from: st, keepTags: true) {
                    routes[i] = .copy(out: out, timeBase: st.pointee.time_base)
                } else {
                    dropped.append(label)
                }
            default:
                dropped.append(label)
            }
        }

        reader.otherPacket = { pkt in
            switch routes[Int(pkt.pointee.stream_index)] {
            case .copy(let out, let tb)?: try writer.writePacket(pkt, from: tb, to: out)
            case .reencode(let re)?: try re.push(pkt)
            case nil: break
            }
        }
        try writer.start()
        for case let pkt? in early { try reader.otherPacket?(pkt) }
        var next: VideoFrame? = first
        while let frame = next {
            let image = try transform(frame)
            try writer.write(image, pts: frame.pts, duration: frame.duration)
            progress?(reader.decodedFrames, info.expectedFrameCount)
            next = try reader.nextFrame()
        }
        if reader.decodedFrames == 0 { throw MediaError.noFrames(path: input) }
        for re in reencoders { try re.finish() }
        try writer.finish()
        return TranscodeReport(
            frames: reader.decodedFrames, expectedFrames: info.expectedFrameCount, truncated: reader.isTruncated,
            decodeErrors: reader.decodeErrors, droppedStreams: dropped, strippedTags: stripped,
            audio: audioState, seconds: Date().timeIntervalSince(started))
    }
}
