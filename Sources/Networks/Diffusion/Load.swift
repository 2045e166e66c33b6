// Strict weight loading for the Stable Diffusion networks: every parameter is taken once by its checkpoint
// key with its expected shape; a missing key, a wrong shape or a key nobody took is a typed error naming it.
import Foundation
import TensorCore

public enum WeightLoadError: Error, Equatable, CustomStringConvertible {
    case missingTensor(component: String, key: String)
    case wrongShape(component: String, key: String, expected: [Int], found: [Int])
    case unusedTensors(component: String, keys: [String])
    case duplicateTensor(component: String, key: String, files: [String])
    case unsupported(component: String, reason: String)

    public var description: String {
        switch self {
        case let .missingTensor(c, key): "\(c): tensor \"\(key)\" is missing from the checkpoint"
        case let .wrongShape(c, key, expected, found): "\(c): tensor \"\(key)\" has shape \(found), expected \(expected)"
        case let .unusedTensors(c, keys):
            "\(c): \(keys.count) checkpoint tensor(s) not used by the model: \(keys.prefix(8).joined(separator: ", "))"
        case let .duplicateTensor(c, key, files): "\(c): tensor \"\(key)\" appears in \(files.joined(separator: " and "))"
        case let .unsupported(c, reason): "\(c): configuration not supported (\(reason))"
        }
    }
}

/// A key rewrite applied to checkpoint names before lookup: occurrences of `from` become `to`.
public struct WeightRename: Sendable {
    public let from: String
    public let to: String
    public init(_ from: String, _ to: String) { self.from = from; self.to = to }
}

/// The tensors of one component. Parameters are taken by key; `finish()` fails on anything left over.
/// A random store (for benchmarks) fabricates each parameter at the requested shape instead.
public final class WeightStore: @unchecked Sendable {
    public let component: String
    fileprivate enum Source {
        case files([String: (SafeTensorsFile, String)]), tensors([String: Tensor]), random(UInt64)
        case shapes([String: [Int]], TensorStorage)
    }
    fileprivate let source: Source
    fileprivate var taken: Set<String> = []
    /// Whether convolutions keep a precomputed fast form (Winograd) of their weights: faster, and for a large
    /// model several GB more memory. False keeps only the checkpoint's weights.
    public var fastKernels = true
    private var randomState: UInt64 = 0

    /// Tensors of `files` (a diffusers/transformers component's safetensors, any dtype the reader converts),
    /// with checkpoint names rewritten by `renames` in order.
    public init(files: [URL], component: String, renames: [WeightRename] = []) throws {
        self.component = component
        var map: [String: (SafeTensorsFile, String)] = [:]
        for url in files {
            let file = try SafeTensorsFile(path: url.path)
            for name in file.names {
                var key = name
                for r in renames where key.contains(r.from) { key = key.replacingOccurrences(of: r.from, with: r.to) }
                if let other = map[key] {
                    throw WeightLoadError.duplicateTensor(component: component, key: key, files: [other.0.path, url.path])
                }
                map[key] = (file, name)
            }
        }
        source = .files(map)
    }

    /// The safetensors of `component` in a diffusers pipeline folder.
    public convenience init(folder: DiffusersFolder, component: String, variant: WeightVariant = .any,
                            renames: [WeightRename] = []) throws {
        try self.init(files: folder.weights(component, variant: variant).files, component: component, renames: renames)
    }

    /// The safetensors weights (`diffusion_pytorch_model*` or `model*`) in a single component folder.
    public convenience init(componentFolder: URL, variant: WeightVariant = .any, renames: [WeightRename] = []) throws {
        let name = componentFolder.lastPathComponent
        let files = try DiffusersFolder.weights(in: componentFolder, component: name, variant: variant).files
        try self.init(files: files, component: name, renames: renames)
    }

    public init(tensors: [String: Tensor], component: String) {
        self.component = component
        source = .tensors(tensors)
    }

    /// Checks a model's parameter names and shapes against a checkpoint's list without any weights: every take
    /// returns a view of one shared zero buffer, and convolutions skip their precomputed (Winograd) forms.
    public init(shapes: [String: [Int]], component: String) {
        self.component = component
        let largest = shapes.values.map { $0.reduce(1, *) }.max() ?? 0
        let storage = TensorStorage(count: max(largest, 1))
        storage.base.initialize(repeating: 0, count: storage.count)
        source = .shapes(shapes, storage)
    }

    /// Whether layers should prepare derived kernel forms (false for a shapes-only store).
    var preparesKernels: Bool {
        if case .shapes = source { return false }
        return fastKernels
    }

    /// Random parameters for timing: matrices and kernels N(0, 1/fan_in), norm scales 1, biases 0.
    public init(randomSeed seed: UInt64, component: String) {
        self.component = component
        source = .random(seed)
        randomState = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    }

    public func take(_ key: String, _ shape: [Int]) throws -> Tensor {
        switch source {
        case let .files(map):
            guard let (file, name) = map[key] else { throw WeightLoadError.missingTensor(component: component, key: key) }
            let info = file.info(name)!
            guard info.shape == shape else {
                throw WeightLoadError.wrongShape(component: component, key: key, expected: shape, found: info.shape)
            }
            taken.insert(key)
            return try file.tensor(name)
        case let .tensors(map):
            guard let t = map[key] else { throw WeightLoadError.missingTensor(component: component, key: key) }
            guard t.shape == shape else {
                throw WeightLoadError.wrongShape(component: component, key: key, expected: shape, found: t.shape)
            }
            taken.insert(key)
            return t
        case let .shapes(map, storage):
            guard let found = map[key] else { throw WeightLoadError.missingTensor(component: component, key: key) }
            guard found == shape else {
                throw WeightLoadError.wrongShape(component: component, key: key, expected: shape, found: found)
            }
            taken.insert(key)
            return Tensor(shape: shape, storage: storage)
        case .random:
            taken.insert(key)
            if shape.count == 1 { return Tensor(shape: shape, repeating: key.hasSuffix("bias") ? 0 : 1) }
            let scale = 1 / Float(shape.dropFirst().reduce(1, *)).squareRoot()
            var s = randomState
            let t = Tensor(shape: shape) { out in
                for i in 0..<out.count {
                    s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    // Uniform in [-√3, √3): unit variance.
                    out[i] = (Float(s >> 40) / Float(1 << 24) * 2 - 1) * 1.7320508 * scale
                }
            }
            randomState = s
            return t
        }
    }

    /// Fails when the checkpoint holds tensors no parameter took.
    public func finish() throws {
        let all: [String]
        switch source {
        case let .files(map): all = Array(map.keys)
        case let .tensors(map): all = Array(map.keys)
        case let .shapes(map, _): all = Array(map.keys)
        case .random: return
        }
        let unused = all.filter { !taken.contains($0) }.sorted()
        if !unused.isEmpty { throw WeightLoadError.unusedTensors(component: component, keys: unused) }
    }

    /// A view of this store whose keys are prefixed with `prefix` + ".".
    func scope(_ prefix: String) -> WeightScope { WeightScope(store: self, prefix: prefix + ".") }
}

/// Keys under a prefix, so blocks take their parameters by their own local names.
struct WeightScope {
    let store: WeightStore
    let prefix: String
    func take(_ key: String, _ shape: [Int]) throws -> Tensor { try store.take(prefix + key, shape) }
    func scope(_ name: String) -> WeightScope { WeightScope(store: store, prefix: prefix + name + ".") }
    func scope(_ name: String, _ index: Int) -> WeightScope { scope("\(name).\(index)") }
}

// MARK: - Layers with checkpoint-keyed parameters

/// `torch.nn.Linear`: `weight` [out, in], `bias` [out].
struct Linear: Sendable {
    let weight: Tensor
    let bias: Tensor?
    init(_ w: WeightScope, _ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) throws {
        weight = try w.take("weight", [outFeatures, inFeatures])
        self.bias = bias ? try w.take("bias", [outFeatures]) : nil
    }
    func callAsFunction(_ x: Tensor) -> Tensor { Tensor.linear(x, weight: weight, bias: bias) }
}

/// `torch.nn.Conv2d` with square kernel: `weight` [out, in, k, k], `bias` [out].
struct Conv2d: Sendable {
    let weights: Conv2DWeights
    init(_ w: WeightScope, _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
         bias: Bool = true) throws {
        let weight = try w.take("weight", [outChannels, inChannels, kernel, kernel])
        let b = bias ? try w.take("bias", [outChannels]) : nil
        weights = Conv2DWeights(weight: weight, bias: b, stride: (stride, stride), padding: (padding, padding),
                                winograd: w.store.preparesKernels, keepWeight: false)
    }
    func callAsFunction(_ x: Tensor) -> Tensor { Tensor.conv2d(x, weights) }
}

/// `torch.nn.GroupNorm` with affine parameters.
struct GroupNorm: Sendable {
    let groups: Int
    let eps: Float
    let weight: Tensor
    let bias: Tensor
    init(_ w: WeightScope, groups: Int, channels: Int, eps: Double) throws {
        self.groups = groups
        self.eps = Float(eps)
        weight = try w.take("weight", [channels])
        bias = try w.take("bias", [channels])
    }
    func callAsFunction(_ x: Tensor) -> Tensor { x.groupNorm(groups: groups, weight: weight, bias: bias, eps: eps) }
}

/// `torch.nn.LayerNorm` over the last dimension.
struct LayerNorm: Sendable {
    let eps: Float
    let weight: Tensor
    let bias: Tensor
    init(_ w: WeightScope, _ dim: Int, eps: Double) throws {
        self.eps = Float(eps)
        weight = try w.take("weight", [dim])
        bias = try w.take("bias", [dim])
    }
    func callAsFunction(_ x: Tensor) -> Tensor {
        x.layerNorm([weight.count], weight: weight, bias: bias, eps: eps)
    }
}

extension WeightStore {
    /// Marks a non-parameter buffer that some checkpoints carry (e.g. `position_ids`) as used, if present.
    func skipBuffer(_ key: String) {
        switch source {
        case let .files(map) where map[key] != nil: taken.insert(key)
        case let .tensors(map) where map[key] != nil: taken.insert(key)
        case let .shapes(map, _) where map[key] != nil: taken.insert(key)
        default: break
        }
    }
}
