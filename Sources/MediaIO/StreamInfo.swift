import CFFmpeg

/// A time base or rate as a fraction.
public struct Rational: Sendable, Codable, Equatable, CustomStringConvertible {
    public var num: Int
    public var den: Int
    public init(num: Int, den: Int) { self.num = num; self.den = den }
    init(_ r: AVRational) { num = Int(r.num); den = Int(r.den) }
    var av: AVRational { AVRational(num: Int32(num), den: Int32(den)) }
    public var value: Double { den == 0 ? 0 : Double(num) / Double(den) }
    public var description: String { "\(num)/\(den)" }
}

/// One stream of a container, as listed by `VideoReader.info` and `MediaProbe`.
public struct StreamInfo: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case video, audio, subtitle, data, attachment, unknown }
    public var index: Int
    public var kind: Kind
    public var codec: String
    public var width: Int?
    public var height: Int?
    public var sampleRate: Int?
    public var channels: Int?
    public var frameCount: Int?
    public var tags: [String: String]

    init(_ st: UnsafeMutablePointer<AVStream>) {
        let par = st.pointee.codecpar!
        index = Int(st.pointee.index)
        switch par.pointee.codec_type {
        case AVMEDIA_TYPE_VIDEO: kind = .video
        case AVMEDIA_TYPE_AUDIO: kind = .audio
        case AVMEDIA_TYPE_SUBTITLE: kind = .subtitle
        case AVMEDIA_TYPE_DATA: kind = .data
        case AVMEDIA_TYPE_ATTACHMENT: kind = .attachment
        default: kind = .unknown
        }
        if par.pointee.codec_id == AV_CODEC_ID_NONE {
            let tag = par.pointee.codec_tag
            let chars = (0..<4).map { UInt8(truncatingIfNeeded: tag >> (8 * $0)) }
            codec = tag == 0 ? "none" : String(decoding: chars, as: UTF8.self)
        } else {
            codec = String(cString: avcodec_get_name(par.pointee.codec_id))
        }
        if kind == .video {
            width = Int(par.pointee.width)
            height = Int(par.pointee.height)
        }
        if kind == .audio {
            sampleRate = Int(par.pointee.sample_rate)
            channels = Int(par.pointee.ch_layout.nb_channels)
        }
        frameCount = st.pointee.nb_frames > 0 ? Int(st.pointee.nb_frames) : nil
        tags = dictionaryEntries(st.pointee.metadata)
    }
}

/// The entries of an `AVDictionary`, in a Swift dictionary.
func dictionaryEntries(_ dict: OpaquePointer?) -> [String: String] {
    var out: [String: String] = [:]
    var e: UnsafeMutablePointer<AVDictionaryEntry>? = nil
    while true {
        e = av_dict_get(dict, "", e, AV_DICT_IGNORE_SUFFIX)
        guard let entry = e else { break }
        out[String(cString: entry.pointee.key)] = String(cString: entry.pointee.value)
    }
    return out
}

/// Clockwise turn, in degrees (0, 90, 180, 270), that shows the stream upright per its display matrix.
func displayRotation(_ st: UnsafeMutablePointer<AVStream>) -> Int {
    guard let sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nil) else { return 0 }
    let ccw = sd.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
    guard ccw.isFinite else { return 0 }
    let cw = Int((-ccw / 90).rounded()) * 90
    return ((cw % 360) + 360) % 360
}
