import Foundation
import SwiftProtobuf
import TensorCore

/// A constant of the graph (initializer, Constant node or tensor attribute): float data as a `Tensor`,
/// integer data (shapes, sizes, counters) as `Int`s.
enum ONNXConstant: Sendable {
    case float(Tensor)
    case int(shape: [Int], values: [Int])

    var shape: [Int] {
        switch self {
        case .float(let t): return t.shape
        case .int(let shape, _): return shape
        }
    }

    /// Values as floats (integer constants converted), for ops that take small numeric inputs.
    var floats: [Float] {
        switch self {
        case .float(let t): return t.scalars
        case .int(_, let v): return v.map(Float.init)
        }
    }
}

/// A node attribute; only the kinds these graphs use are decoded, others are kept as `.other`.
enum ONNXAttribute: Sendable {
    case int(Int)
    case float(Float)
    case ints([Int])
    case floats([Float])
    case string(String)
    case tensor(ONNXConstant)
    case other(String)

    var describedValue: String {
        switch self {
        case .int(let v): return "\(v)"
        case .float(let v): return "\(v)"
        case .ints(let v): return "\(v)"
        case .floats(let v): return "\(v)"
        case .string(let v): return "\"\(v)\""
        case .tensor(let c): return "tensor\(c.shape)"
        case .other(let kind): return "<\(kind)>"
        }
    }
}

/// One operator application as written in the file.
struct ONNXNode: Sendable {
    var name: String
    var opType: String
    var inputs: [String]
    var outputs: [String]
    var attributes: [String: ONNXAttribute]
}

/// A parsed ONNX model: its main graph's nodes in file order, its constants, inputs and outputs.
///
/// Constant nodes are turned into constants here. Only the default (ai.onnx) domain is accepted.
public struct ONNXModel: Sendable {
    /// The file name used in error messages.
    public let file: String
    /// The ai.onnx operator set the graph was exported with.
    public let opsetVersion: Int
    /// Graph inputs that are not constants (the tensors a caller must supply).
    public let inputNames: [String]
    public let outputNames: [String]
    let nodes: [ONNXNode]
    let constants: [String: ONNXConstant]

    /// The operator sets this runtime implements the used operators of.
    static let supportedOpsets = 7...21

    /// Loads `path`; any failure to read or decode is an `ONNXError` naming the file.
    public init(path: String) throws {
        let name = (path as NSString).lastPathComponent
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw ONNXError.unreadable(file: path, reason: (error as NSError).localizedDescription)
        }
        try self.init(data: data, file: name)
    }

    /// Decodes a serialized ModelProto; `file` names it in errors.
    public init(data: Data, file: String) throws {
        self.file = file
        let proto: Onnx_ModelProto
        do {
            proto = try Onnx_ModelProto(serializedBytes: data)
        } catch {
            throw ONNXError.malformed(file: file, reason: "protobuf decoding failed (\(error))")
        }
        guard proto.hasIrVersion, proto.irVersion > 0, proto.hasGraph, !proto.graph.node.isEmpty else {
            throw ONNXError.malformed(file: file, reason: "no IR version or no graph nodes (truncated or not ONNX)")
        }
        var opset: Int?
        for set in proto.opsetImport {
            if set.domain.isEmpty || set.domain == "ai.onnx" {
                opset = Int(set.version)
            } else {
                throw ONNXError.unsupportedOpset(file: file, domain: set.domain, version: Int(set.version))
            }
        }
        // IR version 3+ files must list their operator sets; older ones meant ai.onnx version 1.
        let version = opset ?? 1
        guard ONNXModel.supportedOpsets.contains(version) else {
            throw ONNXError.unsupportedOpset(file: file, domain: "", version: version)
        }
        opsetVersion = version

        let graph = proto.graph
        var constants: [String: ONNXConstant] = [:]
        for initializer in graph.initializer {
            constants[initializer.name] = try ONNXModel.constant(initializer, name: initializer.name, file: file)
        }
        var nodes: [ONNXNode] = []
        nodes.reserveCapacity(graph.node.count)
        for (index, n) in graph.node.enumerated() {
            let nodeName = n.name.isEmpty ? "#\(index) \(n.opType) -> \(n.output.first ?? "?")" : n.name
            if !(n.domain.isEmpty || n.domain == "ai.onnx") {
                throw ONNXError.unsupportedOp(file: file, node: nodeName, op: "\(n.domain).\(n.opType)")
            }
            var attributes: [String: ONNXAttribute] = [:]
            for a in n.attribute {
                attributes[a.name] = try ONNXModel.attribute(a, node: nodeName, file: file)
            }
            if n.opType == "Constant" {
                guard n.output.count == 1, case .tensor(let value)? = attributes["value"] else {
                    let kinds = attributes.keys.sorted().joined(separator: ",")
                    throw ONNXError.unsupportedAttribute(
                        file: file, node: nodeName, op: "Constant", attribute: "value", value: "missing (has \(kinds))")
                }
                constants[n.output[0]] = value
                continue
            }
            nodes.append(ONNXNode(name: nodeName, opType: n.opType, inputs: n.input, outputs: n.output,
                                  attributes: attributes))
        }
        self.nodes = nodes
        self.constants = constants
        inputNames = graph.input.map(\.name).filter { constants[$0] == nil }
        outputNames = graph.output.map(\.name)
        guard !outputNames.isEmpty else {
            throw ONNXError.malformed(file: file, reason: "the graph declares no outputs")
        }
    }

    // MARK: Decoding

    static func attribute(_ a: Onnx_AttributeProto, node: String, file: String) throws -> ONNXAttribute {
        switch a.type {
        case .int: return .int(Int(a.i))
        case .float: return .float(a.f)
        case .ints: return .ints(a.ints.map { Int($0) })
        case .floats: return .floats(a.floats)
        case .string: return .string(String(decoding: a.s, as: UTF8.self))
        case .tensor: return .tensor(try constant(a.t, name: "\(node).\(a.name)", file: file))
        default:
            // Files older than IR 2 may leave `type` unset; infer from the field that is present.
            if a.hasI { return .int(Int(a.i)) }
            if a.hasF { return .float(a.f) }
            if a.hasS { return .string(String(decoding: a.s, as: UTF8.self)) }
            if !a.ints.isEmpty { return .ints(a.ints.map { Int($0) }) }
            if !a.floats.isEmpty { return .floats(a.floats) }
            if a.hasT { return .tensor(try constant(a.t, name: "\(node).\(a.name)", file: file)) }
            return .other("\(a.type)")
        }
    }

    /// Decodes a TensorProto, checking that its payload matches its shape.
    static func constant(_ t: Onnx_TensorProto, name: String, file: String) throws -> ONNXConstant {
        let tensorName = t.name.isEmpty ? name : t.name
        if t.dataLocation == .external || !t.externalData.isEmpty {
            throw ONNXError.externalData(file: file, tensor: tensorName)
        }
        guard t.dims.count <= 8 else {
            throw ONNXError.badTensorData(file: file, tensor: tensorName, reason: "rank \(t.dims.count) exceeds 8")
        }
        var shape: [Int] = []
        // Zero-sized dimensions count as 1 in the bound, so no stride of an empty tensor can overflow either.
        var span = 1
        for d in t.dims {
            guard d >= 0, d < Int64(Int32.max) else {
                throw ONNXError.badTensorData(file: file, tensor: tensorName, reason: "dimension \(d) out of range")
            }
            shape.append(Int(d))
            let (product, overflow) = span.multipliedReportingOverflow(by: max(Int(d), 1))
            guard !overflow, product <= 1 << 31 else {
                throw ONNXError.badTensorData(file: file, tensor: tensorName, reason: "shape \(t.dims) too large")
            }
            span = product
        }
        let count = shape.contains(0) ? 0 : span
        let type = Int(t.dataType)
        func checkCount(_ n: Int, _ what: String) throws {
            guard n == count else {
                throw ONNXError.badTensorData(
                    file: file, tensor: tensorName, reason: "\(n) \(what) values for shape \(shape) (\(count) expected)")
            }
        }
        func raw<T: FixedWidthInteger>(_: T.Type) throws -> [T] {
            let size = MemoryLayout<T>.size
            try checkCount(t.rawData.count / size, ONNXError.dataTypeName(type))
            guard t.rawData.count == count * size else {
                throw ONNXError.badTensorData(file: file, tensor: tensorName,
                                              reason: "\(t.rawData.count) bytes of raw data for \(count) elements")
            }
            return t.rawData.withUnsafeBytes { bytes in
                (0..<count).map { T(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) }
            }
        }
        switch type {
        case 1:  // float32
            if t.hasRawData {
                let bits = try raw(UInt32.self)
                return .float(Tensor(shape: shape, scalars: bits.map(Float.init(bitPattern:))))
            }
            try checkCount(t.floatData.count, "float32")
            return .float(Tensor(shape: shape, scalars: t.floatData))
        case 10:  // float16
            let bits: [UInt16]
            if t.hasRawData {
                bits = try raw(UInt16.self)
            } else {
                try checkCount(t.int32Data.count, "float16")
                bits = t.int32Data.map { UInt16(truncatingIfNeeded: $0) }
            }
            return .float(Tensor(shape: shape, scalars: bits.map(ONNXModel.halfToFloat)))
        case 11:  // double
            if t.hasRawData {
                let bits = try raw(UInt64.self)
                return .float(Tensor(shape: shape, scalars: bits.map { Float(Double(bitPattern: $0)) }))
            }
            try checkCount(t.doubleData.count, "double")
            return .float(Tensor(shape: shape, scalars: t.doubleData.map(Float.init)))
        case 7:  // int64
            if t.hasRawData { return .int(shape: shape, values: try raw(Int64.self).map { Int($0) }) }
            try checkCount(t.int64Data.count, "int64")
            return .int(shape: shape, values: t.int64Data.map { Int($0) })
        case 6:  // int32
            if t.hasRawData { return .int(shape: shape, values: try raw(Int32.self).map { Int($0) }) }
            try checkCount(t.int32Data.count, "int32")
            return .int(shape: shape, values: t.int32Data.map { Int($0) })
        default:
            throw ONNXError.unsupportedDataType(file: file, tensor: tensorName, dataType: type)
        }
    }

    /// IEEE binary16 to Float (Float16 is not available on every platform svia builds on).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int((h >> 10) & 0x1f), mantissa = UInt32(h & 0x3ff)
        if exponent == 0 {
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }
}
