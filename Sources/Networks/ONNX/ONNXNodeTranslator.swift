import Foundation
import TensorCore

/// Turns one ONNX node into a plan step, reading its attributes and constant inputs as the operator set
/// defines them, and rejecting what is not implemented with an error naming the node.
struct ONNXNodeTranslator {
    let model: ONNXModel
    var file: String { model.file }

    init(model: ONNXModel) { self.model = model }

    typealias Step = ONNXPlan.Step

    mutating func step(for node: ONNXNode) throws -> Step {
        func make(_ kind: ONNXPlan.Kind, inputs: [String], epilogue: [PointwiseOp] = []) throws -> Step {
            guard node.outputs.count >= 1, !node.outputs[0].isEmpty else {
                throw ONNXError.malformed(file: file, reason: "node '\(node.name)' has no output")
            }
            return Step(node: node.name, op: node.opType, kind: kind, inputs: inputs, output: node.outputs[0],
                        epilogue: epilogue)
        }
        switch node.opType {
        case "Conv": return try make(.conv(try conv(node, transposed: false)), inputs: [try valueInput(node, 0)])
        case "ConvTranspose":
            return try make(.conv(try conv(node, transposed: true)), inputs: [try valueInput(node, 0)])
        case "BatchNormalization":
            try expectOutputs(node, 1)
            return try make(.pointwise, inputs: [try valueInput(node, 0)], epilogue: [try batchNorm(node)])
        case "Relu":
            return try make(.pointwise, inputs: [try valueInput(node, 0)], epilogue: [.relu])
        case "Sigmoid":
            return try make(.pointwise, inputs: [try valueInput(node, 0)], epilogue: [.sigmoid])
        case "HardSigmoid":
            let alpha = try floatAttribute(node, "alpha", default: 0.2)
            let beta = try floatAttribute(node, "beta", default: 0.5)
            return try make(.pointwise, inputs: [try valueInput(node, 0)], epilogue: [.hardSigmoid(alpha: alpha, beta: beta)])
        case "HardSwish":
            return try make(.pointwise, inputs: [try valueInput(node, 0)], epilogue: [.hardSwish])
        case "Clip":
            var lo = -Float.greatestFiniteMagnitude, hi = Float.greatestFiniteMagnitude
            if model.opsetVersion < 11 {
                lo = try floatAttribute(node, "min", default: lo)
                hi = try floatAttribute(node, "max", default: hi)
            } else {
                if node.inputs.count > 1, !node.inputs[1].isEmpty { lo = try scalarConstant(node, 1) }
                if node.inputs.count > 2, !node.inputs[2].isEmpty { hi = try scalarConstant(node, 2) }
            }
            return try make(.pointwise, inputs: [try valueInput(node, 0)], epilogue: [.clip(min: lo, max: hi)])
        case "Add", "Sub", "Mul", "Div":
            return try binary(node, BinaryOp(rawValue: node.opType)!, make)
        case "GlobalAveragePool":
            return try make(.globalAveragePool, inputs: [try valueInput(node, 0)])
        case "Concat":
            guard case .int(let axis)? = node.attributes["axis"] else {
                throw unsupported(node, "axis", "missing")
            }
            let inputs = try node.inputs.indices.map { try valueInput(node, $0) }
            return try make(.concat(axis: axis), inputs: inputs)
        case "Resize", "Upsample":
            return try make(.resize(try resize(node)), inputs: [try valueInput(node, 0)])
        default:
            throw ONNXError.unsupportedOp(file: file, node: node.name, op: node.opType)
        }
    }

    // MARK: Inputs and attributes

    func unsupported(_ node: ONNXNode, _ attribute: String, _ value: String) -> ONNXError {
        .unsupportedAttribute(file: file, node: node.name, op: node.opType, attribute: attribute, value: value)
    }

    func expectOutputs(_ node: ONNXNode, _ n: Int) throws {
        if node.outputs.filter({ !$0.isEmpty }).count > n {
            throw unsupported(node, "outputs", "\(node.outputs.count) (training-mode outputs)")
        }
    }

    /// Input `i` as a runtime value (it must not be a constant: these graphs compute on activations).
    func valueInput(_ node: ONNXNode, _ i: Int) throws -> String {
        guard i < node.inputs.count, !node.inputs[i].isEmpty else {
            throw ONNXError.shapeMismatch(file: file, node: node.name, op: node.opType, reason: "input \(i) is missing")
        }
        let name = node.inputs[i]
        if model.constants[name] != nil {
            throw ONNXError.unsupportedAttribute(file: file, node: node.name, op: node.opType,
                                                 attribute: "input \(i)", value: "constant '\(name)'")
        }
        return name
    }

    func constant(_ node: ONNXNode, _ i: Int) throws -> ONNXConstant {
        guard i < node.inputs.count, !node.inputs[i].isEmpty else {
            throw ONNXError.shapeMismatch(file: file, node: node.name, op: node.opType, reason: "input \(i) is missing")
        }
        guard let c = model.constants[node.inputs[i]] else {
            throw ONNXError.notConstant(file: file, node: node.name, op: node.opType, input: node.inputs[i])
        }
        return c
    }

    func floatTensor(_ node: ONNXNode, _ i: Int) throws -> Tensor {
        switch try constant(node, i) {
        case .float(let t): return t
        case .int(let shape, let v): return Tensor(shape: shape, scalars: v.map(Float.init))
        }
    }

    func scalarConstant(_ node: ONNXNode, _ i: Int) throws -> Float {
        let v = try constant(node, i).floats
        guard v.count == 1 else {
            throw ONNXError.shapeMismatch(file: file, node: node.name, op: node.opType,
                                          reason: "input '\(node.inputs[i])' has \(v.count) values, expected 1")
        }
        return v[0]
    }

    func floatAttribute(_ node: ONNXNode, _ name: String, default value: Float) throws -> Float {
        switch node.attributes[name] {
        case nil: return value
        case .float(let f)?: return f
        case .int(let i)?: return Float(i)
        case let other?: throw unsupported(node, name, other.describedValue)
        }
    }

    func intsAttribute(_ node: ONNXNode, _ name: String, default value: [Int]) throws -> [Int] {
        switch node.attributes[name] {
        case nil: return value
        case .ints(let v)?: return v
        case let other?: throw unsupported(node, name, other.describedValue)
        }
    }

    func stringAttribute(_ node: ONNXNode, _ name: String, default value: String) throws -> String {
        switch node.attributes[name] {
        case nil: return value
        case .string(let s)?: return s
        case let other?: throw unsupported(node, name, other.describedValue)
        }
    }

    // MARK: Operators

    func conv(_ node: ONNXNode, transposed: Bool) throws -> ONNXPlan.ConvLayer {
        let weight = try floatTensor(node, 1)
        guard weight.rank == 4 else {
            throw ONNXError.shapeMismatch(file: file, node: node.name, op: node.opType,
                                          reason: "weight \(weight.shape) is not 4-D (only 2-D convolutions are supported)")
        }
        let groups: Int
        switch node.attributes["group"] {
        case nil: groups = 1
        case .int(let g)?: groups = g
        case let other?: throw unsupported(node, "group", other.describedValue)
        }
        guard groups >= 1, groups <= weight.shape[0] || weight.shape[0] == 0, (transposed ? weight.shape[0] : weight.shape[0]) % groups == 0 else {
            throw unsupported(node, "group", "\(groups)")
        }
        if transposed && groups != 1 { throw unsupported(node, "group", "\(groups)") }
        let kernel = Array(weight.shape[2...])
        let declared = try intsAttribute(node, "kernel_shape", default: kernel)
        guard declared == kernel else {
            throw ONNXError.shapeMismatch(file: file, node: node.name, op: node.opType,
                                          reason: "kernel_shape \(declared) but weight \(weight.shape)")
        }
        let autoPad = try stringAttribute(node, "auto_pad", default: "NOTSET")
        guard autoPad == "NOTSET" || autoPad == "VALID" else { throw unsupported(node, "auto_pad", autoPad) }
        let strides = try intsAttribute(node, "strides", default: [1, 1])
        let dilations = try intsAttribute(node, "dilations", default: [1, 1])
        let pads = autoPad == "VALID" ? [0, 0, 0, 0] : try intsAttribute(node, "pads", default: [0, 0, 0, 0])
        // Upper bounds keep the output-size arithmetic far from overflow; real detectors use single digits.
        guard strides.count == 2, strides.allSatisfy({ (1...64).contains($0) }) else { throw unsupported(node, "strides", "\(strides)") }
        guard dilations.count == 2, dilations.allSatisfy({ (1...64).contains($0) }) else {
            throw unsupported(node, "dilations", "\(dilations)")
        }
        guard pads.count == 4, pads.allSatisfy({ (0...4096).contains($0) }) else { throw unsupported(node, "pads", "\(pads)") }
        var outputPadding = (h: 0, w: 0)
        if transposed {
            if node.attributes["output_shape"] != nil { throw unsupported(node, "output_shape", "set") }
            let op = try intsAttribute(node, "output_padding", default: [0, 0])
            guard op.count == 2, op.allSatisfy({ (0...64).contains($0) }) else { throw unsupported(node, "output_padding", "\(op)") }
            outputPadding = (op[0], op[1])
        }
        var bias: Tensor?
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            let b = try floatTensor(node, 2)
            let outputs = transposed ? weight.shape[1] * groups : weight.shape[0]
            guard b.count == outputs else {
                throw ONNXError.shapeMismatch(file: file, node: node.name, op: node.opType,
                                              reason: "bias \(b.shape) for \(outputs) output channels")
            }
            bias = b.reshaped([outputs])
        }
        let geometry = ONNXKernels.ConvGeometry(
            stride: (strides[0], strides[1]), padBegin: (pads[0], pads[1]), padEnd: (pads[2], pads[3]),
            dilation: (dilations[0], dilations[1]), groups: groups)
        let inputChannels = transposed ? weight.shape[0] : weight.shape[1] * groups
        return ONNXPlan.ConvLayer(weight: weight.contiguous(), bias: bias, geometry: geometry, transposed: transposed,
                                  outputPadding: outputPadding, inputChannels: inputChannels)
    }

    func batchNorm(_ node: ONNXNode) throws -> PointwiseOp {
        let eps = try floatAttribute(node, "epsilon", default: 1e-5)
        let gamma = try floatTensor(node, 1).scalars, beta = try floatTensor(node, 2).scalars
        let mean = try floatTensor(node, 3).scalars, variance = try floatTensor(node, 4).scalars
        let c = gamma.count
        guard beta.count == c, mean.count == c, variance.count == c else {
            throw ONNXError.shapeMismatch(file: file, node: node.name, op: node.opType,
                                          reason: "scale, bias, mean and variance have \(gamma.count), \(beta.count), \(mean.count), \(variance.count) values")
        }
        let scale = (0..<c).map { gamma[$0] / (variance[$0] + eps).squareRoot() }
        let shift = (0..<c).map { beta[$0] - mean[$0] * scale[$0] }
        return .channelAffine(scale: scale, shift: shift)
    }

    func binary(_ node: ONNXNode, _ op: BinaryOp, _ make: (ONNXPlan.Kind, [String], [PointwiseOp]) throws -> Step) throws -> Step {
        guard node.inputs.count == 2 else {
            throw ONNXError.shapeMismatch(file: file, node: node.name, op: node.opType, reason: "\(node.inputs.count) inputs")
        }
        if node.attributes["broadcast"] != nil || node.attributes["axis"] != nil {
            throw unsupported(node, "broadcast", "legacy (opset < 7) broadcasting")
        }
        let a = node.inputs[0], b = node.inputs[1]
        let ca = model.constants[a], cb = model.constants[b]
        if ca != nil && cb != nil { throw ONNXError.notConstant(file: file, node: node.name, op: node.opType, input: "(both constant)") }
        // One constant side that is a scalar, or one value per channel of an NCHW tensor, becomes an affine op.
        if let c = ca ?? cb {
            let value = ca == nil ? a : b
            let constantOnLeft = ca != nil
            let v = c.floats
            let shape = c.shape
            let perChannel = v.count > 1 && (shape.count == 3 || shape.count == 4)
                && shape.suffix(2) == [1, 1] && (shape.count == 3 || shape[0] == 1)
            if (v.count == 1 || perChannel) && !(op == .div && constantOnLeft) {
                let pairs = v.map { affine(op, $0, constantOnLeft: constantOnLeft) }
                let pointwise: PointwiseOp = v.count == 1
                    ? .affine(scale: pairs[0].0, shift: pairs[0].1)
                    : .channelAffine(scale: pairs.map(\.0), shift: pairs.map(\.1))
                return try make(.pointwise, [value], [pointwise])
            }
            let t: Tensor
            switch c {
            case .float(let f): t = f
            case .int(let s, let iv): t = Tensor(shape: s, scalars: iv.map(Float.init))
            }
            let kind: ONNXPlan.Kind = constantOnLeft
                ? .binary(op, .constant(t), .value(value)) : .binary(op, .value(value), .constant(t))
            return try make(kind, [value], [])
        }
        return try make(.binary(op, .value(a), .value(b)), [a, b], [])
    }

    /// x∘c or c∘x as (scale, shift).
    func affine(_ op: BinaryOp, _ c: Float, constantOnLeft: Bool) -> (Float, Float) {
        switch (op, constantOnLeft) {
        case (.add, _): return (1, c)
        case (.mul, _): return (c, 0)
        case (.sub, false): return (1, -c)
        case (.sub, true): return (-1, c)
        case (.div, _): return (1 / c, 0)  // only x / c: c / x stays a binary op
        }
    }

    func resize(_ node: ONNXNode) throws -> ResizeSpec {
        let opset = model.opsetVersion
        var mode = try stringAttribute(node, "mode", default: "nearest")
        if mode == "bilinear" { mode = "linear" }
        guard let m = ResizeSpec.Mode(rawValue: mode) else { throw unsupported(node, "mode", mode) }
        let coordinateDefault = node.opType == "Resize" && opset >= 11 ? "half_pixel" : "asymmetric"
        let coord = try stringAttribute(node, "coordinate_transformation_mode", default: coordinateDefault)
        guard let cm = ResizeSpec.CoordinateMode(rawValue: coord) else {
            throw unsupported(node, "coordinate_transformation_mode", coord)
        }
        // Before opset 11 nearest Resize/Upsample took the floor of the asymmetric coordinate.
        let nearestDefault = node.opType == "Resize" && opset >= 11 ? "round_prefer_floor" : "floor"
        let nm = try stringAttribute(node, "nearest_mode", default: nearestDefault)
        guard let nearest = ResizeSpec.NearestMode(rawValue: nm) else { throw unsupported(node, "nearest_mode", nm) }
        for name in ["antialias", "exclude_outside"] {
            if case .int(let v)? = node.attributes[name], v != 0 { throw unsupported(node, name, "\(v)") }
        }
        if node.attributes["axes"] != nil { throw unsupported(node, "axes", "set") }
        var scales: [Float]?
        var sizes: [Int]?
        if node.opType == "Upsample" && opset < 9 {
            if case .floats(let s)? = node.attributes["scales"] { scales = s }
        } else if node.opType == "Upsample" || opset < 11 {
            scales = try constant(node, 1).floats
        } else {
            if node.inputs.count > 3, !node.inputs[3].isEmpty {
                let f = try constant(node, 3).floats
                guard f.allSatisfy({ $0.isFinite && abs($0) <= 1_048_576 }) else { throw unsupported(node, "sizes", "\(f)") }
                sizes = f.map { Int($0) }
            }
            if sizes == nil, node.inputs.count > 2, !node.inputs[2].isEmpty { scales = try constant(node, 2).floats }
        }
        if let s = scales, !s.isEmpty {
            guard s.count == 4, s[0] == 1, s[1] == 1, s[2] > 0, s[3] > 0, s[2] <= 64, s[3] <= 64 else { throw unsupported(node, "scales", "\(s)") }
            return ResizeSpec(mode: m, coordinates: cm, nearest: nearest, scales: (s[2], s[3]), sizes: nil)
        }
        if let z = sizes {
            guard z.count == 4, (1...16384).contains(z[2]), (1...16384).contains(z[3]) else { throw unsupported(node, "sizes", "\(z)") }
            return ResizeSpec(mode: m, coordinates: cm, nearest: nearest, scales: nil, sizes: (z[2], z[3]))
        }
        throw unsupported(node, "scales", "missing (neither scales nor sizes given)")
    }
}
