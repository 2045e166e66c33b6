/// The video encoders svia writes.
public enum VideoCodecChoice: String, CaseIterable, Sendable {
    case h264, hevc, mpeg4

    var encoderName: String {
        switch self {
        case .h264: return "libx264"
        case .hevc: return "libx265"
        case .mpeg4: return "mpeg4"
        }
    }
}

/// What happens to the input's audio.
public enum AudioPolicy: String, Sendable, CaseIterable {
    /// No audio in the output (the private default: voices and cabin talk are removed).
    case drop
    /// Audio packets copied unchanged; re-encoded to AAC only when the container cannot hold the codec.
    case keep
}

/// How a video is encoded and what is carried over from the input.
public struct EncodeOptions: Sendable {
    public var codec: VideoCodecChoice
    /// Constant rate factor for h264/hevc (default 18). For mpeg4 it is the fixed quantiser (2–31, default 3).
    public var crf: Int?
    public var preset: String
    public var audio: AudioPolicy
    /// Copy the container and stream tags (location, creation time, device) and the streams the output
    /// container can hold (subtitles with GPS text, for instance). Off by default.
    public var keepMetadata: Bool
    /// Threads for the encoder and for colour conversion.
    public var threads: Int
    /// Extra private options passed to the encoder, e.g. `["tune": "film"]` or `["x264-params": "keyint=60"]`.
    public var codecOptions: [String: String]

    public init(codec: VideoCodecChoice = .h264, crf: Int? = nil, preset: String = "veryfast",
                audio: AudioPolicy = .drop, keepMetadata: Bool = false, threads: Int = 2,
                codecOptions: [String: String] = [:]) {
        self.codec = codec
        self.crf = crf
        self.preset = preset
        self.audio = audio
        self.keepMetadata = keepMetadata
        self.threads = threads
        self.codecOptions = codecOptions
    }

    var effectiveCRF: Int { crf ?? (codec == .mpeg4 ? 3 : 18) }
}

/// Output containers, chosen by the output file's extension.
enum OutputContainer: String {
    case mp4, mov, matroska

    init(path: String) throws {
        switch fileExtension(path) {
        case "mp4", "m4v": self = .mp4
        case "mov": self = .mov
        case "mkv": self = .matroska
        default: throw MediaError.unsupportedExtension(path: path)
        }
    }

    var isQuickTime: Bool { self != .matroska }
}
