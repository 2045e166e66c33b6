/// Why a safetensors file, shard index or write was refused. Every case names the file, and the tensor
/// when one is at fault.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened, read, mapped or written (`reason` is the system's message).
    case io(file: String, reason: String)
    /// The file is shorter than its 8-byte header-length prefix.
    case truncated(file: String, size: Int)
    /// The declared header length runs past the end of the file or past the accepted limit.
    case headerLength(file: String, length: UInt64, fileSize: Int, limit: Int)
    /// The header is not a JSON object of the expected form.
    case invalidHeader(file: String, reason: String)
    /// A tensor's entry is malformed (missing or mistyped field, negative or overflowing shape).
    case invalidEntry(file: String, tensor: String, reason: String)
    /// The entry's dtype is not one this reader converts to Float32.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// dtype size × element count differs from the entry's byte range.
    case sizeMismatch(file: String, tensor: String, expectedBytes: Int, rangeBytes: Int)
    /// The entry's byte range is reversed or ends past the data area.
    case outOfBounds(file: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    /// Two entries' byte ranges overlap.
    case overlap(file: String, tensor: String, other: String)
    /// The tensor is not in the file (or archive).
    case missingTensor(file: String, name: String)
    /// A sharded index (`*.safetensors.index.json`) or a folder is malformed or ambiguous.
    case invalidIndex(file: String, reason: String)
    /// A tensor handed to the writer cannot be written (duplicate or empty name).
    case invalidTensor(file: String, tensor: String, reason: String)

    public var description: String {
        switch self {
        case let .io(file, reason):
            return "\(file): \(reason)"
        case let .truncated(file, size):
            return "\(file): truncated safetensors file (\(size) bytes, need at least 8)"
        case let .headerLength(file, length, fileSize, limit):
            return "\(file): header length \(length) does not fit a \(fileSize)-byte file (limit \(limit) bytes)"
        case let .invalidHeader(file, reason):
            return "\(file): invalid safetensors header: \(reason)"
        case let .invalidEntry(file, tensor, reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case let .unsupportedDType(file, tensor, dtype):
            return "\(file): tensor '\(tensor)': unsupported dtype \(dtype)"
        case let .sizeMismatch(file, tensor, expected, range):
            return "\(file): tensor '\(tensor)': dtype and shape need \(expected) bytes but the range holds \(range)"
        case let .outOfBounds(file, tensor, begin, end, dataSize):
            return "\(file): tensor '\(tensor)': byte range \(begin)..<\(end) outside the \(dataSize)-byte data area"
        case let .overlap(file, tensor, other):
            return "\(file): tensor '\(tensor)' overlaps tensor '\(other)'"
        case let .missingTensor(file, name):
            return "\(file): no tensor named '\(name)'"
        case let .invalidIndex(file, reason):
            return "\(file): invalid safetensors index: \(reason)"
        case let .invalidTensor(file, tensor, reason):
            return "\(file): cannot write tensor '\(tensor)': \(reason)"
        }
    }
}
