/// A problem with an input or output file, in words a user can act on. Every case names the file.
public enum MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    case fileNotFound(path: String)
    case isDirectory(path: String)
    case emptyFile(path: String)
    /// The bytes are not a container or image format that svia reads.
    case unrecognizedFormat(path: String, detail: String)
    /// An MP4/MOV whose index (the `moov` atom) is missing: a recording that was never closed.
    case missingIndex(path: String)
    case noVideoStream(path: String)
    case noFrames(path: String)
    case dimensionsTooLarge(path: String, width: Int, height: Int)
    /// H.264 and HEVC in 4:2:0 need an even width and height.
    case oddDimensions(path: String, width: Int, height: Int)
    case unsupportedExtension(path: String)
    case outputIsInput(path: String)
    case encoderUnavailable(path: String, encoder: String)
    /// A picture handed to the encoder does not have the size the output was opened with.
    case pictureSizeChanged(path: String, expected: String, got: String)
    /// A label map whose pixels are not class ids svia can read exactly.
    case unsupportedLabelMap(path: String, detail: String)

    public var path: String {
        switch self {
        case .fileNotFound(let p), .isDirectory(let p), .emptyFile(let p), .unrecognizedFormat(let p, _),
             .missingIndex(let p), .noVideoStream(let p), .noFrames(let p), .dimensionsTooLarge(let p, _, _),
             .oddDimensions(let p, _, _), .unsupportedExtension(let p), .outputIsInput(let p), .encoderUnavailable(let p, _),
             .pictureSizeChanged(let p, _, _), .unsupportedLabelMap(let p, _):
            return p
        }
    }

    public var description: String {
        switch self {
        case .fileNotFound(let p): return "\(p): no such file"
        case .isDirectory(let p): return "\(p): is a directory, not a media file"
        case .emptyFile(let p): return "\(p): file is empty"
        case .unrecognizedFormat(let p, let d): return "\(p): not a supported video or image file (\(d))"
        case .missingIndex(let p):
            return "\(p): truncated recording: the MP4/MOV index (moov atom) is missing, so the file cannot be read"
        case .noVideoStream(let p): return "\(p): contains no video stream"
        case .noFrames(let p): return "\(p): no picture could be decoded"
        case .dimensionsTooLarge(let p, let w, let h):
            return "\(p): picture size \(w)x\(h) exceeds the limit (\(MediaLimits.maxSide) per side, \(MediaLimits.maxPixels / 1_000_000) Mpx)"
        case .oddDimensions(let p, let w, let h):
            return "\(p): cannot encode \(w)x\(h) with H.264/HEVC: width and height must be even (mpeg4 allows odd sizes)"
        case .unsupportedExtension(let p): return "\(p): unsupported file extension (use .mp4, .mkv, .mov, .png, .jpg or .jpeg)"
        case .outputIsInput(let p): return "\(p): output would overwrite the input"
        case .encoderUnavailable(let p, let e): return "\(p): encoder \(e) is not available in this FFmpeg build"
        case .pictureSizeChanged(let p, let e, let g): return "\(p): picture size changed from \(e) to \(g) while writing"
        case .unsupportedLabelMap(let p, let d):
            return "\(p): not a label map svia can read (\(d)); use an 8-bit gray, 16-bit gray or palette PNG of class ids"
        }
    }
}

/// Size limits checked before any picture buffer is allocated.
public enum MediaLimits {
    public static let maxSide = 16384
    public static let maxPixels = 100_000_000

    static func check(width: Int, height: Int, path: String) throws {
        if width <= 0 || height <= 0 { throw MediaError.unrecognizedFormat(path: path, detail: "no picture size") }
        if width > maxSide || height > maxSide || width * height > maxPixels {
            throw MediaError.dimensionsTooLarge(path: path, width: width, height: height)
        }
    }
}
