/// Why a detector could not be set up or run.
public enum DetectorError: Error, Equatable, CustomStringConvertible {
    /// The picture's byte count does not match its size (packed RGB24 expected).
    case badImage(width: Int, height: Int, bytes: Int)
    /// A shipped model file was not found; `searched` lists the places looked in.
    case modelNotFound(file: String, searched: [String])
    /// A model file's SHA-256 differs from the digest pinned for it (damaged, replaced or another version).
    case modelDigestMismatch(path: String, expected: String, found: String)
    /// The file loaded but is not the model the detector expects.
    case unexpectedModel(file: String, reason: String)
    /// An option value that cannot work (e.g. a zero detection size).
    case badOption(String)

    public var description: String {
        switch self {
        case let .badImage(width, height, bytes):
            return "picture of \(width)x\(height) needs \(max(0, width * height * 3)) bytes of packed RGB, got \(bytes)"
        case let .modelNotFound(file, searched):
            return "model \(file) not found; looked in: \(searched.joined(separator: ", ")) (set SVIA_MODELS_DIR to the folder that holds it)"
        case let .modelDigestMismatch(path, expected, found):
            return "\(path): SHA-256 \(found) differs from the pinned \(expected); refusing a detector model that is not the shipped one (reinstall it, or set SVIA_MODELS_DIR and SVIA_MODELS_UNPINNED=1 to use another on purpose)"
        case let .unexpectedModel(file, reason):
            return "\(file): \(reason)"
        case let .badOption(reason):
            return "bad detector option: \(reason)"
        }
    }
}
