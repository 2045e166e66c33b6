import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One `.safetensors` file, memory-mapped read-only and validated in full before any tensor is read.
///
/// Layout: 8-byte little-endian header length n, n bytes of JSON
/// (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`), then the data
/// area that the offsets index. F32 tensors whose bytes are 4-byte aligned are used without copying;
/// every other supported dtype is converted to Float32 when read.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    private let region: MappedRegion
    private let dataStart: Int
    private let entries: [String: SafeTensorsEntry]
    private let sortedNames: [String]
    private let meta: [String: String]

    /// Headers larger than this are refused: real checkpoints stay far below it, and it bounds the
    /// memory a hostile header length can make the reader allocate.
    public static let headerLimit = 100_000_000

    public var names: [String] { sortedNames }
    public var metadata: [String: String] { meta }

    /// Maps and validates the file; throws `SafeTensorsError` naming the file and the tensor at fault.
    public init(path: String) throws {
        self.path = path
        region = try MappedRegion(path: path)
        let size = region.size
        guard size >= 8 else { throw SafeTensorsError.truncated(file: path, size: size) }
        let headerLength = UInt64(littleEndian: region.base.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(SafeTensorsFile.headerLimit), headerLength <= UInt64(size - 8) else {
            throw SafeTensorsError.headerLength(
                file: path, length: headerLength, fileSize: size, limit: SafeTensorsFile.headerLimit)
        }
        let n = Int(headerLength)
        dataStart = 8 + n
        let json = Data(bytes: region.base + 8, count: n)
        let header = try SafeTensorsHeader.decode(json, file: path)
        let dataSize = size - dataStart
        entries = try SafeTensorsHeader.validate(header.entries, dataSize: dataSize, file: path)
        sortedNames = entries.keys.sorted()
        meta = header.metadata
    }

    /// The stored dtype name (e.g. "F16") and shape, or nil when absent.
    public func info(_ name: String) -> (dtype: String, shape: [Int])? {
        entries[name].map { ($0.dtype.rawValue, $0.shape) }
    }

    /// The tensor as Float32; F32 data is borrowed from the mapping when aligned.
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw SafeTensorsError.missingTensor(file: path, name: name) }
        let count = e.elementCount
        if count == 0 { return Tensor(shape: e.shape) }
        let start = dataStart + e.begin
        let src = region.base + start
        if e.dtype == .f32, start % MemoryLayout<Float>.alignment == 0 {
            let p = UnsafeMutableRawPointer(mutating: src).assumingMemoryBound(to: Float.self)
            let storage = TensorStorage(borrowing: p, count: count, owner: region)
            return Tensor(shape: e.shape, storage: storage)
        }
        return Tensor(shape: e.shape) { dst in
            SafeTensorsFile.convert(e.dtype, from: src, to: dst.baseAddress!, count: count)
        }
    }

    private static func convert(_ dtype: SafeTensorsDType, from src: UnsafeRawPointer,
                                to dst: UnsafeMutablePointer<Float>, count: Int) {
        ThreadPool.parallelFor(count, minChunk: 1 << 16) { r in
            switch dtype {
            case .f32:
                UnsafeMutableRawPointer(dst + r.lowerBound)
                    .copyMemory(from: src + 4 * r.lowerBound, byteCount: 4 * r.count)
            case .f16:
                for i in r { dst[i] = Half.toFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .bf16:
                for i in r {
                    let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    dst[i] = Float(bitPattern: UInt32(bits) << 16)
                }
            case .f64:
                for i in r { dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case .i64:
                for i in r { dst[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
            case .i32:
                for i in r { dst[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            case .i16:
                for i in r { dst[i] = Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
            case .i8:
                for i in r { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
            case .u8:
                for i in r { dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
            case .bool:
                for i in r { dst[i] = src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
            }
        }
    }
}

/// Element types this reader understands; all are read as Float32.
enum SafeTensorsDType: String {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    var byteSize: Int {
        switch self {
        case .f64, .i64: 8
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .i8, .u8, .bool: 1
        }
    }
}

struct SafeTensorsEntry {
    var dtype: SafeTensorsDType
    var shape: [Int]
    var begin: Int
    var end: Int
    var elementCount: Int
}

/// The JSON header as decoded, before its ranges are checked against the file.
struct SafeTensorsHeader {
    struct RawEntry: Decodable {
        var dtype: String
        var shape: [Int]
        var data_offsets: [Int]
    }

    var entries: [String: Result<RawEntry, EntryError>]
    var metadata: [String: String]

    struct EntryError: Error { var reason: String }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct Decoded: Decodable {
        var entries: [String: Result<RawEntry, EntryError>] = [:]
        var metadata: [String: String] = [:]
        var metadataError: String?

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            for key in c.allKeys {
                if key.stringValue == "__metadata__" {
                    do { metadata = try c.decode([String: String].self, forKey: key) } catch {
                        metadataError = "__metadata__ must be an object of strings"
                    }
                    continue
                }
                do {
                    entries[key.stringValue] = .success(try c.decode(RawEntry.self, forKey: key))
                } catch {
                    entries[key.stringValue] = .failure(EntryError(reason: SafeTensorsHeader.explain(error)))
                }
            }
        }
    }

    static func explain(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _):
            return "missing field \(key.stringValue)"
        case DecodingError.typeMismatch(_, let context), DecodingError.dataCorrupted(let context):
            let field = context.codingPath.dropFirst().first?.stringValue ?? "entry"
            return "field \(field) is not of the expected type (strings for dtype, non-negative integers for shape and data_offsets)"
        case DecodingError.valueNotFound(_, let context):
            let field = context.codingPath.dropFirst().first?.stringValue ?? "entry"
            return "field \(field) is null"
        default:
            return "malformed entry"
        }
    }

    static func decode(_ json: Data, file: String) throws -> SafeTensorsHeader {
        let decoded: Decoded
        do {
            decoded = try JSONDecoder().decode(Decoded.self, from: json)
        } catch DecodingError.typeMismatch {
            throw SafeTensorsError.invalidHeader(file: file, reason: "not a JSON object")
        } catch {
            throw SafeTensorsError.invalidHeader(file: file, reason: "not valid JSON")
        }
        if let reason = decoded.metadataError { throw SafeTensorsError.invalidHeader(file: file, reason: reason) }
        return SafeTensorsHeader(entries: decoded.entries, metadata: decoded.metadata)
    }

    /// Checks every entry against the data area: known dtype, non-negative shape whose strides fit,
    /// byte count matching the range, range inside the data, no two ranges overlapping.
    static func validate(_ raw: [String: Result<RawEntry, EntryError>], dataSize: Int,
                         file: String) throws -> [String: SafeTensorsEntry] {
        // Bounds that keep every stride and byte offset of a tensor inside Int: 2^40 elements (4 TiB of F32).
        let maxRank = 16, maxElements = 1 << 40
        var out: [String: SafeTensorsEntry] = [:]
        for name in raw.keys.sorted() {
            let r: RawEntry
            switch raw[name]! {
            case .success(let v): r = v
            case .failure(let e): throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: e.reason)
            }
            guard let dtype = SafeTensorsDType(rawValue: r.dtype) else {
                throw SafeTensorsError.unsupportedDType(file: file, tensor: name, dtype: r.dtype)
            }
            guard r.data_offsets.count == 2 else {
                throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "data_offsets must hold two integers")
            }
            guard r.shape.count <= maxRank else {
                throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "rank \(r.shape.count) exceeds \(maxRank)")
            }
            // Zero-sized dimensions count as 1 here: strides and byte offsets are products of the other
            // dimensions, so a shape like [0, 2^32, 2^32] must be refused even though it holds no element.
            var span = 1
            for d in r.shape {
                guard d >= 0 else {
                    throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "negative dimension in shape \(r.shape)")
                }
                let (p, overflow) = span.multipliedReportingOverflow(by: max(d, 1))
                guard !overflow, p <= maxElements else {
                    throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "shape \(r.shape) overflows the size limit of 2^40 elements")
                }
                span = p
            }
            let count = r.shape.contains(0) ? 0 : span
            let bytes = count * dtype.byteSize
            let begin = r.data_offsets[0], end = r.data_offsets[1]
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw SafeTensorsError.outOfBounds(file: file, tensor: name, begin: begin, end: end, dataSize: dataSize)
            }
            guard end - begin == bytes else {
                throw SafeTensorsError.sizeMismatch(file: file, tensor: name, expectedBytes: bytes, rangeBytes: end - begin)
            }
            out[name] = SafeTensorsEntry(dtype: dtype, shape: r.shape, begin: begin, end: end, elementCount: count)
        }
        let byStart = out.filter { $0.value.end > $0.value.begin }
            .sorted { ($0.value.begin, $0.key) < ($1.value.begin, $1.key) }
        for i in byStart.indices.dropFirst() where byStart[i].value.begin < byStart[i - 1].value.end {
            throw SafeTensorsError.overlap(file: file, tensor: byStart[i].key, other: byStart[i - 1].key)
        }
        return out
    }
}

/// A whole file mapped read-only; unmapped when the last tensor borrowing it is gone.
final class MappedRegion: @unchecked Sendable {
    let base: UnsafeRawPointer
    let size: Int
    private let mapped: Bool

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SafeTensorsError.io(file: path, reason: MappedRegion.lastError("cannot open")) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafeTensorsError.io(file: path, reason: MappedRegion.lastError("cannot stat")) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw SafeTensorsError.io(file: path, reason: "not a regular file") }
        size = Int(st.st_size)
        if size == 0 {
            // mmap refuses empty files; the header check reports the truncation.
            base = UnsafeRawPointer(bitPattern: 8)!
            mapped = false
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw SafeTensorsError.io(file: path, reason: MappedRegion.lastError("cannot map"))
        }
        base = UnsafeRawPointer(p)
        mapped = true
    }

    deinit {
        if mapped { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    static func lastError(_ what: String) -> String {
        "\(what): \(String(cString: strerror(errno)))"
    }
}

/// IEEE 754 binary16 → binary32, written out so it does not depend on the platform's `Float16`.
enum Half {
    @inline(__always)
    static func toFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1f
        let mantissa = UInt32(h & 0x3ff)
        if exponent == 0 {
            // Zero or subnormal: mantissa · 2^-24, exact in Float32.
            let v = Float(mantissa) * 0x1p-24
            return sign != 0 ? -v : v
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
}
