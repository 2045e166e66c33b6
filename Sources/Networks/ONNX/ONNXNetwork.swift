import Foundation
import TensorCore

/// An ONNX graph ready to run on TensorCore, for fully convolutional models of any input height and width.
///
/// Loading parses the file, orders the nodes, folds constants into weights and fuses pointwise chains;
/// `run` executes the steps, freeing each intermediate after its last use. Every shape problem found
/// while running is an `ONNXError.shapeMismatch` naming the node, never a crash.
public struct ONNXNetwork: Sendable {
    public let file: String
    /// The tensors `run` needs.
    public var inputNames: [String] { plan.inputNames }
    public var outputNames: [String] { plan.outputNames }
    /// Steps after folding and fusion (for tests and diagnostics).
    public var stepCount: Int { plan.steps.count }

    let plan: ONNXPlan
    /// Values each step is the last reader of.
    private let releases: [[String]]
    /// Whether a step may take its first input's buffer (its last reader, not a graph output), so that
    /// pointwise steps and same-shape binary ops work in place instead of copying.
    private let consumesFirstInput: [Bool]

    public init(path: String) throws {
        try self.init(model: try ONNXModel(path: path))
    }

    public init(model: ONNXModel) throws {
        file = model.file
        plan = try ONNXPlan(model)
        var lastUse: [String: Int] = [:]
        for (i, s) in plan.steps.enumerated() { for v in s.inputs { lastUse[v] = i } }
        let keep = Set(plan.outputNames)
        var releases = [[String]](repeating: [], count: plan.steps.count)
        for (v, i) in lastUse where !keep.contains(v) { releases[i].append(v) }
        self.releases = releases
        consumesFirstInput = plan.steps.enumerated().map { i, s in
            guard let first = s.inputs.first, !keep.contains(first), lastUse[first] == i,
                  s.inputs.dropFirst().allSatisfy({ $0 != first }) else { return false }
            switch s.kind {
            case .pointwise: return true
            case .binary(_, .value(let a), _): return a == first
            default: return false
            }
        }
    }

    /// Runs the graph on its single input.
    public func run(_ input: Tensor) throws -> [String: Tensor] {
        guard inputNames.count == 1 else {
            throw ONNXError.badInput(file: file, input: inputNames.joined(separator: ","),
                                     reason: "the graph has \(inputNames.count) inputs; pass them by name")
        }
        return try run([inputNames[0]: input])
    }

    /// Runs the graph; returns every graph output by name.
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        var values: [String: Tensor] = [:]
        for name in inputNames {
            guard let t = inputs[name] else {
                throw ONNXError.badInput(file: file, input: name, reason: "not given")
            }
            values[name] = t
        }
        for name in inputs.keys where !inputNames.contains(name) {
            throw ONNXError.badInput(file: file, input: name, reason: "the graph has no such input")
        }
        for (i, step) in plan.steps.enumerated() {
            let owned = consumesFirstInput[i] ? values.removeValue(forKey: step.inputs[0]) : nil
            var out = try execute(step, values, owned: owned)
            for case .channelAffine(let scale, _) in step.epilogue where out.rank != 4 || out.shape[1] != scale.count {
                throw ONNXError.shapeMismatch(file: file, node: step.node, op: step.op,
                                              reason: "\(scale.count) per-channel values for a tensor of shape \(out.shape)")
            }
            ONNXKernels.pointwise(&out, step.epilogue)
            values[step.output] = out
            for v in releases[i] { values[v] = nil }
        }
        var result: [String: Tensor] = [:]
        for name in outputNames {
            guard let t = values[name] else {
                throw ONNXError.missingValue(file: file, node: "graph output", value: name)
            }
            result[name] = t
        }
        return result
    }

    /// Runs one step; `owned` is its first input when the step is that value's last reader.
    private func execute(_ step: ONNXPlan.Step, _ values: [String: Tensor], owned: Tensor?) throws -> Tensor {
        func fail(_ reason: String) -> ONNXError {
            .shapeMismatch(file: file, node: step.node, op: step.op, reason: reason)
        }
        func value(_ name: String) throws -> Tensor {
            if let owned, name == step.inputs[0] { return owned }
            guard let t = values[name] else { throw ONNXError.missingValue(file: file, node: step.node, value: name) }
            return t
        }
        switch step.kind {
        case .conv(let layer):
            let x = try value(step.inputs[0])
            guard x.rank == 4, x.shape[1] == layer.inputChannels else {
                throw fail("input \(x.shape) does not fit weight \(layer.weight.shape) (\(layer.inputChannels) input channels)")
            }
            let g = layer.geometry, kh = layer.weight.shape[2], kw = layer.weight.shape[3]
            if layer.transposed {
                if g.padBegin == g.padEnd && layer.outputPadding.h < max(g.stride.h, g.dilation.h)
                    && layer.outputPadding.w < max(g.stride.w, g.dilation.w) {
                    return Tensor.convTranspose2d(x, weight: layer.weight, bias: layer.bias, stride: g.stride,
                                                  padding: g.padBegin, outputPadding: layer.outputPadding,
                                                  groups: g.groups, dilation: g.dilation)
                }
                return ONNXKernels.convTranspose2d(x, weight: layer.weight, bias: layer.bias, g,
                                                   outputPadding: layer.outputPadding)
            }
            let oh = (x.shape[2] + g.padBegin.h + g.padEnd.h - g.dilation.h * (kh - 1) - 1) / g.stride.h + 1
            let ow = (x.shape[3] + g.padBegin.w + g.padEnd.w - g.dilation.w * (kw - 1) - 1) / g.stride.w + 1
            guard oh > 0, ow > 0 else { throw fail("input \(x.shape) is smaller than the \(kh)x\(kw) kernel") }
            if let prepared = layer.prepared { return Tensor.conv2d(x, prepared) }
            return ONNXKernels.conv2d(x, weight: layer.weight, bias: layer.bias, g)
        case .pointwise:
            return try value(step.inputs[0])
        case let .binary(op, a, b):
            let ta: Tensor, tb: Tensor
            switch a {
            case .value(let n): ta = try value(n)
            case .constant(let t): ta = t
            }
            switch b {
            case .value(let n): tb = try value(n)
            case .constant(let t): tb = t
            }
            guard let shape = ONNXKernels.broadcastShape(ta.shape, tb.shape) else {
                throw fail("shapes \(ta.shape) and \(tb.shape) do not broadcast")
            }
            if owned != nil && shape == ta.shape {
                var target = ta
                ONNXKernels.binaryInPlace(op, &target, tb)
                return target
            }
            switch op {
            case .add: return ta + tb
            case .sub: return ta - tb
            case .mul: return ta * tb
            case .div: return ta / tb
            }
        case .globalAveragePool:
            let x = try value(step.inputs[0])
            guard x.rank == 4 else { throw fail("input \(x.shape) is not [N, C, H, W]") }
            return x.globalAveragePool()
        case .resize(let spec):
            let x = try value(step.inputs[0])
            guard x.rank == 4 else { throw fail("input \(x.shape) is not 4-D") }
            let size = spec.outputSize(h: x.shape[2], w: x.shape[3])
            guard size.h > 0, size.w > 0 else { throw fail("empty output \(size) for input \(x.shape)") }
            return ONNXKernels.resize(x, spec)
        case .concat(let axis):
            let parts = try step.inputs.map { try value($0) }
            let rank = parts[0].rank
            let a = axis < 0 ? axis + rank : axis
            guard a >= 0, a < rank else { throw fail("axis \(axis) out of range for rank \(rank)") }
            for p in parts where p.rank != rank
                || (0..<rank).contains(where: { $0 != a && p.shape[$0] != parts[0].shape[$0] }) {
                throw fail("shapes \(parts.map(\.shape)) cannot be joined on axis \(a)")
            }
            return Tensor.cat(parts, dim: a)
        }
    }
}
