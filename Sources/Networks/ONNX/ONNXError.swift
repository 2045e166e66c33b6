/// Why an ONNX file could not be loaded or run. Every case names the file, and the node where one is at fault.
public enum ONNXError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(file: String, reason: String)
    /// The bytes are not a valid ONNX ModelProto (truncated, corrupt or another format).
    case malformed(file: String, reason: String)
    /// The model needs an operator set this runtime does not implement.
    case unsupportedOpset(file: String, domain: String, version: Int)
    /// A node uses an operator that is not implemented.
    case unsupportedOp(file: String, node: String, op: String)
    /// A node's attribute has a value that is not implemented (e.g. Resize mode "cubic").
    case unsupportedAttribute(file: String, node: String, op: String, attribute: String, value: String)
    /// A tensor's element type is not implemented (`dataType` is TensorProto.DataType's number).
    case unsupportedDataType(file: String, tensor: String, dataType: Int)
    /// A tensor's payload does not match its declared shape and type.
    case badTensorData(file: String, tensor: String, reason: String)
    /// Tensor data stored outside the file (external data) is not supported.
    case externalData(file: String, tensor: String)
    /// A node reads a value that no node, initializer or graph input produces.
    case missingValue(file: String, node: String, value: String)
    /// A node's weight or parameter input must be a constant (initializer or Constant node) and is not.
    case notConstant(file: String, node: String, op: String, input: String)
    /// Shapes that do not fit together, found at load or at run time.
    case shapeMismatch(file: String, node: String, op: String, reason: String)
    /// The graph has a cycle or nodes out of any topological order.
    case cyclicGraph(file: String, node: String)
    /// `run` was given inputs that do not match the graph's inputs.
    case badInput(file: String, input: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read ONNX file: \(reason)"
        case let .malformed(file, reason):
            return "\(file): not a valid ONNX model: \(reason)"
        case let .unsupportedOpset(file, domain, version):
            return "\(file): operator set \(domain.isEmpty ? "ai.onnx" : domain) version \(version) is not supported"
        case let .unsupportedOp(file, node, op):
            return "\(file): node '\(node)': operator \(op) is not supported"
        case let .unsupportedAttribute(file, node, op, attribute, value):
            return "\(file): node '\(node)' (\(op)): attribute \(attribute)=\(value) is not supported"
        case let .unsupportedDataType(file, tensor, dataType):
            return "\(file): tensor '\(tensor)': element type \(ONNXError.dataTypeName(dataType)) is not supported"
        case let .badTensorData(file, tensor, reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case let .externalData(file, tensor):
            return "\(file): tensor '\(tensor)' keeps its data in an external file, which is not supported"
        case let .missingValue(file, node, value):
            return "\(file): node '\(node)' reads '\(value)', which nothing in the graph produces"
        case let .notConstant(file, node, op, input):
            return "\(file): node '\(node)' (\(op)): input '\(input)' must be a constant"
        case let .shapeMismatch(file, node, op, reason):
            return "\(file): node '\(node)' (\(op)): \(reason)"
        case let .cyclicGraph(file, node):
            return "\(file): the graph has a cycle through node '\(node)'"
        case let .badInput(file, input, reason):
            return "\(file): input '\(input)': \(reason)"
        }
    }

    static func dataTypeName(_ t: Int) -> String {
        let names = [1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
                     8: "string", 9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64", 16: "bfloat16"]
        return names[t].map { "\($0) (\(t))" } ?? "\(t)"
    }
}
