/// What a path holds, judged by its extension (case-insensitive).
public enum MediaKind: Sendable, Equatable {
    case video, image, unsupported

    public static let videoExtensions: Set<String> = ["mp4", "m4v", "mov", "mkv", "webm", "avi", "ts", "mts", "m2ts", "flv", "3gp"]
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

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
