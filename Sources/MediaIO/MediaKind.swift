/// What a path holds, judged by its extension (case-insensitive).
public enum MediaKind: Sendable, Equatable {
    case video, image, unsupported

    public static let videoExtensions: Set<String> = ["mp4", "m4v", "mov", "mkv", "webm", "avi", "ts", "mts", "m2ts", "flv", "3gp"]
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]
    /// Video containers svia writes; other inputs are written as one of these (`outputExtension`).
    public static let writableVideoExtensions: Set<String> = ["mp4", "m4v", "mov", "mkv"]

    /// The extension an output of `path` gets when its name is derived from the input's: the input's own
    /// when svia writes that container, else `mkv` for WebM (Opus/Vorbis audio, WebVTT) and `mp4` for the
    /// rest (MPEG-TS, AVI, FLV, 3GP). Nil for an extension that is not a media file's.
    public static func outputExtension(for path: String) -> String? {
        let ext = fileExtension(path)
        if imageExtensions.contains(ext) || writableVideoExtensions.contains(ext) { return nil }
        guard videoExtensions.contains(ext) else { return nil }
        return ext == "webm" ? "mkv" : "mp4"
    }

    public static func of(path: String) -> MediaKind {
        let ext = fileExtension(path)
        if videoExtensions.contains(ext) { return .video }
        if imageExtensions.contains(ext) { return .image }
        return .unsupported
    }
}

/// The lower-cased extension of the last path component, or "" when there is none.
func fileExtension(_ path: String) -> String {
    let name = path.split(separator: "/").last.map(String.init) ?? path
    guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
    return String(name[name.index(after: dot)...]).lowercased()
}
