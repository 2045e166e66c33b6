import Foundation
import TensorCore

/// A graph compiled for execution: nodes translated into steps in topological order, constants folded
/// into weights (BatchNormalization and scalar Mul/Add after a Conv), pointwise chains fused, and the
/// Add–Clip–Mul–Div pattern recognised as hard-swish.
struct ONNXPlan: Sendable {
    enum Operand: Sendable {
        case value(String)
        case constant(Tensor)
    }

    struct ConvLayer: Sendable {
        var weight: Tensor
        var bias: Tensor?
        var geometry: ONNXKernels.ConvGeometry
        var transposed: Bool
        var outputPadding: (h: Int, w: Int)
        /// Input channels the layer expects (checked at run time).
        var inputChannels: Int
        /// TensorCore's prepared form when its kernels cover the geometry (symmetric padding).
        var prepared: Conv2DWeights?
        var outputChannels: Int { transposed ? weight.shape[1] * geometry.groups : weight.shape[0] }
    }

    enum Kind: Sendable {
        case conv(ConvLayer)
        /// Only the epilogue: the identity followed by pointwise ops.
        case pointwise
        case binary(BinaryOp, Operand, Operand)
        case globalAveragePool
        case resize(ResizeSpec)
        case concat(axis: Int)
    }

    struct Step: Sendable {
        var node: String
        var op: String
        var kind: Kind
        /// Value inputs in the order the kind reads them (constants are inside `kind`).
        var inputs: [String]
        var output: String
        var epilogue: [PointwiseOp] = []
    }

    let file: String
    var steps: [Step]
    let inputNames: [String]
    let outputNames: [String]

    init(_ model: ONNXModel) throws {
        file = model.file
        inputNames = model.inputNames
        outputNames = model.outputNames
        let ordered = try ONNXPlan.topologicalOrder(model)
        var translator = ONNXNodeTranslator(model: model)
        steps = try ordered.map { try translator.step(for: $0) }
        fusePointwise()
        recogniseHardSwish()
        fusePointwise()
        foldAffineIntoConvolutions()
        prepareConvolutions()
    }

    // MARK: Ordering

    static func topologicalOrder(_ model: ONNXModel) throws -> [ONNXNode] {
        var producer: [String: Int] = [:]
        for (i, n) in model.nodes.enumerated() {
            for o in n.outputs where !o.isEmpty { producer[o] = i }
        }
        let available = Set(model.inputNames).union(model.constants.keys)
        var state = [UInt8](repeating: 0, count: model.nodes.count)  // 0 new, 1 visiting, 2 done
        var order: [ONNXNode] = []
        order.reserveCapacity(model.nodes.count)
        func visit(_ start: Int) throws {
            // Iterative depth-first search so deep graphs cannot overflow the stack.
            var stack: [(Int, Int)] = [(start, 0)]
            state[start] = 1
            while let (i, next) = stack.last {
                let node = model.nodes[i]
                if next < node.inputs.count {
                    stack[stack.count - 1].1 += 1
                    let name = node.inputs[next]
                    if name.isEmpty || available.contains(name) { continue }
                    guard let p = producer[name] else {
                        throw ONNXError.missingValue(file: model.file, node: node.name, value: name)
                    }
                    if state[p] == 1 { throw ONNXError.cyclicGraph(file: model.file, node: model.nodes[p].name) }
                    if state[p] == 0 {
                        state[p] = 1
                        stack.append((p, 0))
                    }
                } else {
                    state[i] = 2
                    order.append(node)
                    stack.removeLast()
                }
            }
        }
        for i in model.nodes.indices where state[i] == 0 { try visit(i) }
        for o in model.outputNames where producer[o] == nil && !available.contains(o) {
            throw ONNXError.missingValue(file: model.file, node: "graph output", value: o)
        }
        return order
    }

    // MARK: Rewrites

    /// Uses of each value by later steps (graph outputs count as a use).
    func consumerCounts() -> [String: Int] {
        var uses: [String: Int] = [:]
        for s in steps { for i in s.inputs { uses[i, default: 0] += 1 } }
        for o in outputNames { uses[o, default: 0] += 1 }
        return uses
    }

    /// Appends a pure pointwise step to its producer when the producer's output feeds nothing else.
    mutating func fusePointwise() {
        var changed = true
        while changed {
            changed = false
            let uses = consumerCounts()
            var producerIndex: [String: Int] = [:]
            for (i, s) in steps.enumerated() { producerIndex[s.output] = i }
            for (i, s) in steps.enumerated() {
                guard case .pointwise = s.kind, s.inputs.count == 1, let p = producerIndex[s.inputs[0]],
                      uses[s.inputs[0]] == 1 else { continue }
                steps[p].epilogue += s.epilogue
                steps[p].output = s.output
                steps.remove(at: i)
                changed = true
                break
            }
        }
    }

    /// x · clip(x + 3, 0, 6) / 6 written as Add, Clip, Mul, Div becomes one hard-swish.
    mutating func recogniseHardSwish() {
        var i = 0
        while i < steps.count {
            defer { i += 1 }
            guard case .binary(.mul, .value(let a), .value(let b)) = steps[i].kind,
                  case .affine(let scale, 0)? = steps[i].epilogue.first, abs(scale - 1 / 6) < 1e-6 else { continue }
            let uses = consumerCounts()
            let gateIndex = steps.firstIndex { s in
                s.inputs.count == 1 && ((s.output == a && s.inputs[0] == b) || (s.output == b && s.inputs[0] == a))
                    && s.epilogue == [.affine(scale: 1, shift: 3), .clip(min: 0, max: 6)]
                    && { if case .pointwise = s.kind { return true } else { return false } }()
            }
            guard let g = gateIndex, uses[steps[g].output] == 1 else { continue }
            let x = steps[g].inputs[0]
            steps[i].kind = .pointwise
            steps[i].inputs = [x]
            steps[i].op = "HardSwish"
            steps[i].epilogue = [.hardSwish] + steps[i].epilogue.dropFirst()
            steps.remove(at: g)
            if g < i { i -= 1 }
        }
    }

    /// Leading affine epilogue ops of a convolution become part of its weights and bias.
    mutating func foldAffineIntoConvolutions() {
        for i in steps.indices {
            guard case .conv(var layer) = steps[i].kind else { continue }
            folding: while let first = steps[i].epilogue.first {
                let c = layer.outputChannels
                switch first {
                case let .affine(s, b):
                    layer.scaleOutputs(by: [Float](repeating: s, count: c), adding: [Float](repeating: b, count: c))
                case let .channelAffine(s, b) where s.count == c:
                    layer.scaleOutputs(by: s, adding: b)
                default:
                    break folding
                }
                steps[i].epilogue.removeFirst()
            }
            steps[i].kind = .conv(layer)
        }
    }
}

extension ONNXPlan {
    /// Hands the final (folded) weights of each plain convolution to TensorCore's kernels, which pick
    /// depthwise, 1x1, Winograd or im2col by shape; asymmetric padding stays on ONNXKernels.
    mutating func prepareConvolutions() {
        for i in steps.indices {
            guard case .conv(var layer) = steps[i].kind, !layer.transposed else { continue }
            let g = layer.geometry
            if g.padBegin == g.padEnd {
                layer.prepared = Conv2DWeights(weight: layer.weight, bias: layer.bias, stride: g.stride,
                                               padding: g.padBegin, dilation: g.dilation, groups: g.groups)
            }
            steps[i].kind = .conv(layer)
        }
    }
}

extension ONNXPlan.ConvLayer {
    /// Output channel o becomes out[o]·scale[o] + shift[o] by rewriting the weights and bias.
    mutating func scaleOutputs(by scale: [Float], adding shift: [Float]) {
        let c = outputChannels
        var w = weight.contiguous().scalars
        if transposed {
            // [Cin, Cout/groups, kH, kW]: output channel is dimension 1 (one group).
            let cin = weight.shape[0], k = weight.shape[2] * weight.shape[3]
            for ci in 0..<cin { for o in 0..<c { for j in 0..<k { w[(ci * c + o) * k + j] *= scale[o] } } }
        } else {
            let per = w.count / c
            for o in 0..<c { for j in 0..<per { w[o * per + j] *= scale[o] } }
        }
        weight = Tensor(shape: weight.shape, scalars: w)
        let b = bias?.scalars ?? [Float](repeating: 0, count: c)
        bias = Tensor(shape: [c], scalars: (0..<c).map { b[$0] * scale[$0] + shift[$0] })
    }
}
