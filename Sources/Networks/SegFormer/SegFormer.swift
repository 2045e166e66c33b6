// Ports transformers 5.23.0 `models/segformer/modeling_segformer.py` (`SegformerForSemanticSegmentation`).
// Parameters carry the checkpoint keys, which are the reference's pre-5.0 module names that
// `save_pretrained` still writes (`encoder.block.i.j.attention.self.query` where the 5.x module is
// `stages.i.blocks.j.attention.q_proj`, `mlp.dense1` for `mlp.fc1`, `decode_head.linear_c` for
// `linear_projections`). Activations stay in token layout [L, C] (see SegFormer+Kernels.swift).
// At load, key and value projections are stacked into one GEMM, and the decode head's per-stage
// projections, fuse conv and batch norm are composed into one linear map per stage (all three are
// linear and commute with the bilinear upsampling between them).
import Foundation
import TensorCore

/// A linear layer `key.weight` [out, in], `key.bias` [out].
struct SegFormerLinear: Sendable {
    let weight: Tensor
    let bias: Tensor
    var outFeatures: Int { weight.shape[0] }
    var inFeatures: Int { weight.shape[1] }

    init(_ r: SegFormerWeightReader, _ key: String, inFeatures: Int, outFeatures: Int) throws {
        weight = try r.take(key + ".weight", [outFeatures, inFeatures])
        bias = try r.take(key + ".bias", [outFeatures])
    }

    init(weight: Tensor, bias: Tensor) {
        self.weight = weight
        self.bias = bias
    }
}

/// `nn.LayerNorm` `key.weight`, `key.bias` [C]; eps is the module default 1e-5 (config's layer_norm_eps is unused).
struct SegFormerLayerNorm: Sendable {
    let weight: Tensor
    let bias: Tensor
    static let eps: Float = 1e-5

    init(_ r: SegFormerWeightReader, _ key: String, channels: Int) throws {
        weight = try r.take(key + ".weight", [channels])
        bias = try r.take(key + ".bias", [channels])
    }
}

/// A square convolution `key.weight` [Cout, Cin, k, k], stored permuted to [Cout, k, k, Cin] for token input.
struct SegFormerConv: Sendable {
    let weight: Tensor
    let bias: Tensor
    let kernel: Int, stride: Int, padding: Int
    let inChannels: Int, outChannels: Int

    init(_ r: SegFormerWeightReader, _ key: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int,
         padding: Int) throws {
        weight = try r.take(key + ".weight", [outChannels, inChannels, kernel, kernel]).permuted([0, 2, 3, 1]).contiguous()
        bias = try r.take(key + ".bias", [outChannels])
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.inChannels = inChannels
        self.outChannels = outChannels
    }

    func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padding - kernel) / stride + 1, (width + 2 * padding - kernel) / stride + 1)
    }
}

/// `SegformerLayer`: pre-norm efficient self-attention and Mix-FFN, each with a residual.
struct SegFormerBlock: Sendable {
    let layerNorm1: SegFormerLayerNorm  // layer_norm_1
    let query: SegFormerLinear  // attention.self.query
    let keyValue: SegFormerLinear  // attention.self.key and .value stacked: [2C, C]
    let reduction: SegFormerConv?  // attention.self.sr (sr_ratio > 1)
    let reductionNorm: SegFormerLayerNorm?  // attention.self.layer_norm
    let output: SegFormerLinear  // attention.output.dense
    let layerNorm2: SegFormerLayerNorm  // layer_norm_2
    let dense1: SegFormerLinear  // mlp.dense1
    let dwWeight: Tensor  // mlp.dwconv.dwconv.weight [C4, 1, 3, 3] stored as [9, C4]
    let dwBias: Tensor  // mlp.dwconv.dwconv.bias
    let dense2: SegFormerLinear  // mlp.dense2
    let heads: Int

    init(_ r: SegFormerWeightReader, _ key: String, hidden c: Int, heads: Int, srRatio: Int, mlpRatio: Int) throws {
        self.heads = heads
        layerNorm1 = try SegFormerLayerNorm(r, key + ".layer_norm_1", channels: c)
        query = try SegFormerLinear(r, key + ".attention.self.query", inFeatures: c, outFeatures: c)
        let k = try SegFormerLinear(r, key + ".attention.self.key", inFeatures: c, outFeatures: c)
        let v = try SegFormerLinear(r, key + ".attention.self.value", inFeatures: c, outFeatures: c)
        keyValue = SegFormerLinear(weight: stack([k.weight, v.weight]), bias: stack([k.bias, v.bias]))
        if srRatio > 1 {
            reduction = try SegFormerConv(r, key + ".attention.self.sr", inChannels: c, outChannels: c, kernel: srRatio,
                                          stride: srRatio, padding: 0)
            reductionNorm = try SegFormerLayerNorm(r, key + ".attention.self.layer_norm", channels: c)
        } else {
            reduction = nil
            reductionNorm = nil
        }
        output = try SegFormerLinear(r, key + ".attention.output.dense", inFeatures: c, outFeatures: c)
        layerNorm2 = try SegFormerLayerNorm(r, key + ".layer_norm_2", channels: c)
        let c4 = c * mlpRatio
        dense1 = try SegFormerLinear(r, key + ".mlp.dense1", inFeatures: c, outFeatures: c4)
        dwWeight = try r.take(key + ".mlp.dwconv.dwconv.weight", [c4, 1, 3, 3]).reshaped([c4, 9]).transposed(0, 1).contiguous()
        dwBias = try r.take(key + ".mlp.dwconv.dwconv.bias", [c4])
        dense2 = try SegFormerLinear(r, key + ".mlp.dense2", inFeatures: c4, outFeatures: c)
    }

    /// x: tokens [H·W, C], updated in place.
    func callAsFunction(_ x: inout Tensor, height h: Int, width w: Int) {
        let c = x.shape[1], l = h * w
        let normed = layerNormed(x, layerNorm1)  // [L, C]
        // Keys and values come from the spatially reduced map when sr_ratio > 1.
        var kvSource = normed
        var lk = l
        if let reduction, let reductionNorm {
            let (rh, rw) = reduction.outputSize(height: h, width: w)
            kvSource = layerNormed(convolved(normed, height: h, width: w, reduction), reductionNorm)  // [Lr, C]
            lk = rh * rw
        }
        let q = linear(normed, query)  // [L, C]
        let kv = linear(kvSource, keyValue)  // [Lk, 2C]: keys then values
        let d = c / heads
        let attended = Tensor(shape: [l, c]) { out in
            q.withUnsafeBufferPointer { qp in
                kv.withUnsafeBufferPointer { kvp in
                    SegFormerKernels.attention(
                        q: qp.baseAddress!, ldq: c, k: kvp.baseAddress!, ldk: 2 * c, v: kvp.baseAddress! + c, ldv: 2 * c,
                        queries: l, keys: lk, heads: heads, headDim: d, out: out.baseAddress!, ldo: c)
                }
            }
        }  // [L, C]
        linear(attended, output, addingTo: &x)  // x += o_proj(attention)
        let hidden = linear(layerNormed(x, layerNorm2), dense1)  // [L, 4C]
        let c4 = hidden.shape[1]
        let activated = Tensor(shape: [l, c4]) { out in
            hidden.withUnsafeBufferPointer { hp in
                dwWeight.withUnsafeBufferPointer { wp in
                    dwBias.withUnsafeBufferPointer { bp in
                        SegFormerKernels.depthwise3x3GELU(hp.baseAddress!, height: h, width: w, channels: c4,
                                                          weight: wp.baseAddress!, bias: bp.baseAddress!,
                                                          out: out.baseAddress!)
                    }
                }
            }
        }  // [L, 4C]
        linear(activated, dense2, addingTo: &x)  // x += fc2(gelu(dwconv(fc1(ln(x)))))
    }
}

/// `SegformerStage`: overlapping patch embedding, blocks, final layer norm.
struct SegFormerStage: Sendable {
    let patchEmbedding: SegFormerConv  // encoder.patch_embeddings.i.proj
    let patchNorm: SegFormerLayerNorm  // encoder.patch_embeddings.i.layer_norm
    let blocks: [SegFormerBlock]  // encoder.block.i.j
    let layerNorm: SegFormerLayerNorm  // encoder.layer_norm.i

    init(_ r: SegFormerWeightReader, _ config: SegFormerConfig, index i: Int) throws {
        let c = config.hiddenSizes[i]
        let cin = i == 0 ? config.numChannels : config.hiddenSizes[i - 1]
        let prefix = "segformer.encoder"
        patchEmbedding = try SegFormerConv(r, "\(prefix).patch_embeddings.\(i).proj", inChannels: cin, outChannels: c,
                                           kernel: config.patchSizes[i], stride: config.strides[i],
                                           padding: config.patchSizes[i] / 2)
        patchNorm = try SegFormerLayerNorm(r, "\(prefix).patch_embeddings.\(i).layer_norm", channels: c)
        blocks = try (0..<config.depths[i]).map { j in
            try SegFormerBlock(r, "\(prefix).block.\(i).\(j)", hidden: c, heads: config.numAttentionHeads[i],
                               srRatio: config.srRatios[i], mlpRatio: config.mlpRatios[i])
        }
        layerNorm = try SegFormerLayerNorm(r, "\(prefix).layer_norm.\(i)", channels: c)
    }

    /// tokens [H·W, Cin] → ([H'·W', C], embedding before the blocks, H', W')
    func callAsFunction(_ x: Tensor, height h: Int, width w: Int) -> (out: Tensor, embedded: Tensor, height: Int, width: Int) {
        let (oh, ow) = patchEmbedding.outputSize(height: h, width: w)
        let embedded = layerNormed(convolved(x, height: h, width: w, patchEmbedding), patchNorm)  // [H'·W', C]
        var hidden = embedded
        for block in blocks { block(&hidden, height: oh, width: ow) }
        return (layerNormed(hidden, layerNorm), embedded, oh, ow)
    }
}

/// `SegformerDecodeHead` with its linear part composed at load: for stage i,
/// fuse[:, slot i] · linear_c.i and the folded batch norm become one map C_i → D (`stageMaps`), the biases
/// one vector; the sum of the upsampled maps then goes through ReLU and the classifier.
struct SegFormerDecodeHead: Sendable {
    let stageMaps: [Tensor]  // [D, C_i]
    let bias: Tensor  // [D]
    let classifier: SegFormerLinear  // decode_head.classifier [K, D, 1, 1] as [K, D]

    init(_ r: SegFormerWeightReader, _ config: SegFormerConfig) throws {
        let d = config.decoderHiddenSize, n = config.numEncoderBlocks
        let projections = try (0..<n).map { i in
            try SegFormerLinear(r, "decode_head.linear_c.\(i).proj", inFeatures: config.hiddenSizes[i], outFeatures: d)
        }
        let fuse = try r.take("decode_head.linear_fuse.weight", [d, n * d, 1, 1]).reshaped([d, n * d])
        let gamma = try r.take("decode_head.batch_norm.weight", [d]).scalars
        let beta = try r.take("decode_head.batch_norm.bias", [d]).scalars
        let mean = try r.take("decode_head.batch_norm.running_mean", [d]).scalars
        let variance = try r.take("decode_head.batch_norm.running_var", [d]).scalars
        try r.expect("decode_head.batch_norm.num_batches_tracked", [])
        let k = config.numLabels
        classifier = SegFormerLinear(
            weight: try r.take("decode_head.classifier.weight", [k, d, 1, 1]).reshaped([k, d]),
            bias: try r.take("decode_head.classifier.bias", [k]))

        let scale = (0..<d).map { gamma[$0] / (variance[$0] + 1e-5).squareRoot() }  // BatchNorm2d eps
        var fusedBias = [Float](repeating: 0, count: d)
        var maps: [Tensor] = []
        fuse.withUnsafeBufferPointer { fp in
            for i in 0..<n {
                // The head concatenates the upsampled stages in reverse order: stage i sits at slot n-1-i.
                let slot = fp.baseAddress! + (n - 1 - i) * d
                let ci = config.hiddenSizes[i]
                var m = Tensor(shape: [d, ci]) { out in
                    projections[i].weight.withUnsafeBufferPointer { wp in
                        BLAS.sgemm(m: d, n: ci, k: d, a: slot, lda: n * d, b: wp.baseAddress!, ldb: ci,
                                   c: out.baseAddress!, ldc: ci)
                    }
                }
                let pb = projections[i].bias.scalars
                for row in 0..<d {
                    var acc: Float = 0
                    for j in 0..<d { acc += slot[row * n * d + j] * pb[j] }
                    fusedBias[row] += acc
                }
                m.withUnsafeMutableBufferPointer { mp in
                    for row in 0..<d { for j in 0..<ci { mp[row * ci + j] *= scale[row] } }
                }
                maps.append(m)
            }
        }
        stageMaps = maps
        bias = Tensor(shape: [d], scalars: (0..<d).map { scale[$0] * (fusedBias[$0] - mean[$0]) + beta[$0] })
    }

    /// Stage outputs as tokens with their sizes → logits tokens [H1·W1, K] at the first stage's size.
    func callAsFunction(_ stages: [(tokens: Tensor, height: Int, width: Int)]) -> Tensor {
        let h = stages[0].height, w = stages[0].width, d = bias.count, k = classifier.outFeatures
        // Later stages are projected at their own (smaller) size and upsampled afterwards.
        let projected = (1..<stages.count).map { i in
            linear(stages[i].tokens, SegFormerLinear(weight: stageMaps[i], bias: Tensor.zeros([d])))
        }  // [H_i·W_i, D]
        let taps = (1..<stages.count).map { i in
            (y: SegFormerKernels.bilinearTaps(input: stages[i].height, output: h),
             x: SegFormerKernels.bilinearTaps(input: stages[i].width, output: w))
        }
        let first = stages[0].tokens, c0 = first.shape[1]
        let band = max(1, min(h, 4096 / max(w, 1)))  // output rows per task
        let bands = (h + band - 1) / band
        let contiguous = projected.map { $0.contiguous() }
        let logits = Tensor(shape: [h * w, k]) { out in
            first.withUnsafeBufferPointer { xp in
                stageMaps[0].withUnsafeBufferPointer { m0 in
                    bias.withUnsafeBufferPointer { bp in
                        classifier.weight.withUnsafeBufferPointer { cw in
                            classifier.bias.withUnsafeBufferPointer { cb in
                                withPointers(contiguous) { ptrs in
                                    ThreadPool.parallelFor(bands, chunksPerWorker: SegFormerKernels.split) { range in
                                        let fused = UnsafeMutablePointer<Float>.allocate(capacity: band * w * d)
                                        defer { fused.deallocate() }
                                        for t in range {
                                            let y0 = t * band, rows = min(band, h - y0)
                                            let n = rows * w
                                            for r in 0..<n { (fused + r * d).update(from: bp.baseAddress!, count: d) }
                                            BLAS.sgemm(transB: true, m: n, n: d, k: c0, a: xp.baseAddress! + y0 * w * c0,
                                                       lda: c0, b: m0.baseAddress!, ldb: c0, beta: 1, c: fused, ldc: d)
                                            for i in 1..<stages.count {
                                                SegFormerKernels.addBilinear(
                                                    ptrs[i - 1], height: stages[i].height, width: stages[i].width,
                                                    channels: d, yTaps: taps[i - 1].y, xTaps: taps[i - 1].x,
                                                    rows: y0..<(y0 + rows), out: fused)
                                            }
                                            for j in 0..<(n * d) { fused[j] = max(fused[j], 0) }  // ReLU
                                            let o = out.baseAddress! + y0 * w * k
                                            BLAS.sgemm(transB: true, m: n, n: k, k: d, a: fused, lda: d, b: cw.baseAddress!,
                                                       ldb: d, c: o, ldc: k)
                                            for r in 0..<n { for j in 0..<k { o[r * k + j] += cb[j] } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return logits  // [H1·W1, K]
    }
}

/// What one forward pass produces, in token layout, with the intermediates the parity tests compare.
struct SegFormerOutputs {
    /// Stage i output after its final layer norm: tokens [H_i·W_i, C_i] with sizes.
    var stages: [(tokens: Tensor, height: Int, width: Int)]
    /// The first stage's patch embedding (after its layer norm), tokens [H_1·W_1, C_1].
    var firstEmbedding: Tensor
    /// Logits tokens [H_1·W_1, K].
    var logits: Tensor
}

/// SegFormer for semantic segmentation, loaded strictly from a `config.json` + safetensors folder.
public final class SegFormer: Sendable {
    public let config: SegFormerConfig
    let stages: [SegFormerStage]
    let head: SegFormerDecodeHead

    /// Loads a folder holding `config.json` and `model.safetensors` (a plain folder or a Hugging Face cache
    /// entry `models--org--name`). Every checkpoint tensor must be used with the expected shape.
    public convenience init(directory: String) throws {
        let folder = try SegFormerCheckpointFolder.resolve(directory)
        let config = try SegFormerConfig.load(path: (folder as NSString).appendingPathComponent("config.json"))
        // transformers' file names first (a folder may hold other safetensors files beside them).
        let named = ["model.safetensors.index.json", "model.safetensors"].map { (folder as NSString).appendingPathComponent($0) }
        let weights = named.first { FileManager.default.fileExists(atPath: $0) } ?? folder
        let archive: SafeTensorsArchive
        do { archive = try SafeTensorsArchive(path: weights) } catch {
            throw SegFormerError.badWeights(path: weights, reason: "\(error)")
        }
        try self.init(config: config, weights: archive)
    }

    public init(config: SegFormerConfig, weights: SafeTensorsArchive) throws {
        try config.validate()
        self.config = config
        let reader = SegFormerWeightReader(weights)
        stages = try (0..<config.numEncoderBlocks).map { try SegFormerStage(reader, config, index: $0) }
        head = try SegFormerDecodeHead(reader, config)
        try reader.finish()
    }

    /// Class names by index (`id2label`).
    public var labels: [Int: String] { config.labels }

    /// Normalised pixels [N, C, H, W] → logits [N, num_labels, ⌈H/4⌉, ⌈W/4⌉] (the reference's `logits`).
    public func logits(_ pixels: Tensor) -> Tensor {
        precondition(pixels.rank == 4 && pixels.shape[1] == config.numChannels,
                     "SegFormer.logits: expected [N, \(config.numChannels), H, W], got \(pixels.shape)")
        let n = pixels.shape[0]
        var parts: [Tensor] = []
        var size = (0, 0)
        for b in 0..<n {
            let image = pixels.narrowed(dim: 0, start: b, length: 1)
            let out = forward(image)
            size = (out.stages[0].height, out.stages[0].width)
            parts.append(out.logits)
        }
        let k = config.numLabels, l = size.0 * size.1
        return Tensor(shape: [n, k, size.0, size.1]) { dst in
            for b in 0..<n {
                parts[b].withUnsafeBufferPointer { src in
                    for p in 0..<l { for j in 0..<k { dst[(b * k + j) * l + p] = src[p * k + j] } }
                }
            }
        }
    }

    /// Packed RGB24 `rgb` (`width`×`height`) → one class index (trainId for Cityscapes checkpoints) per pixel.
    /// The image is resized to `workSize` (nil: its own size), normalised as `SegformerImageProcessor` does,
    /// and the logits are resized bilinearly back to the frame before the argmax.
    public func classMap(rgb: [UInt8], width: Int, height: Int, workSize: (width: Int, height: Int)? = nil) throws -> [UInt8] {
        guard width > 0, height > 0, rgb.count == width * height * 3 else {
            throw SegFormerError.badImage(reason: "\(rgb.count) bytes for a \(width)x\(height) RGB24 image")
        }
        let work = workSize ?? (width, height)
        guard work.width >= 4, work.height >= 4 else {
            throw SegFormerError.badImage(reason: "working size \(work.width)x\(work.height) is below 4x4")
        }
        let pixels = SegFormerImageProcessor().pixelValues(rgb: rgb, width: width, height: height, size: work)
        let out = forward(pixels)
        return SegFormerKernels.argmaxResized(out.logits, height: out.stages[0].height, width: out.stages[0].width,
                                              classes: config.numLabels, toHeight: height, toWidth: width)
    }

    /// One image [1, C, H, W] through encoder and head.
    func forward(_ pixels: Tensor) -> SegFormerOutputs {
        // Every GEMM below runs inside a ThreadPool loop, on one BLAS thread.
        BLAS.withSingleThread { forwardTokens(pixels) }
    }

    private func forwardTokens(_ pixels: Tensor) -> SegFormerOutputs {
        let h = pixels.shape[2], w = pixels.shape[3]
        var x = pixels.reshaped([config.numChannels, h * w]).transposed(0, 1).contiguous()  // [H·W, C] (NHWC)
        var height = h, width = w
        var outputs: [(tokens: Tensor, height: Int, width: Int)] = []
        var firstEmbedding = x
        for (i, stage) in stages.enumerated() {
            let r = stage(x, height: height, width: width)
            if i == 0 { firstEmbedding = r.embedded }
            x = r.out
            height = r.height
            width = r.width
            outputs.append((x, height, width))
        }
        return SegFormerOutputs(stages: outputs, firstEmbedding: firstEmbedding, logits: head(outputs))
    }
}

// MARK: Helpers on token tensors

/// Rows of `tensors` stacked along dimension 0.
func stack(_ tensors: [Tensor]) -> Tensor {
    let rest = Array(tensors[0].shape.dropFirst())
    let rows = tensors.reduce(0) { $0 + $1.shape[0] }
    return Tensor(shape: [rows] + rest) { dst in
        var offset = 0
        for t in tensors {
            t.withUnsafeBufferPointer { src in
                (dst.baseAddress! + offset).update(from: src.baseAddress!, count: src.count)
                offset += src.count
            }
        }
    }
}

func layerNormed(_ x: Tensor, _ norm: SegFormerLayerNorm) -> Tensor {
    let rows = x.shape[0], c = x.shape[1]
    return Tensor(shape: [rows, c]) { out in
        x.withUnsafeBufferPointer { xp in
            norm.weight.withUnsafeBufferPointer { wp in
                norm.bias.withUnsafeBufferPointer { bp in
                    SegFormerKernels.layerNorm(xp.baseAddress!, rows: rows, channels: c, weight: wp.baseAddress!,
                                               bias: bp.baseAddress!, eps: SegFormerLayerNorm.eps, out: out.baseAddress!)
                }
            }
        }
    }
}

func linear(_ x: Tensor, _ layer: SegFormerLinear) -> Tensor {
    let rows = x.shape[0]
    return Tensor(shape: [rows, layer.outFeatures]) { out in
        x.withUnsafeBufferPointer { xp in
            layer.weight.withUnsafeBufferPointer { wp in
                layer.bias.withUnsafeBufferPointer { bp in
                    SegFormerKernels.linear(xp.baseAddress!, ldx: layer.inFeatures, rows: rows, inFeatures: layer.inFeatures,
                                            weight: wp.baseAddress!, bias: bp.baseAddress!, outFeatures: layer.outFeatures,
                                            out: out.baseAddress!, ldo: layer.outFeatures)
                }
            }
        }
    }
}

/// residual += layer(x)
func linear(_ x: Tensor, _ layer: SegFormerLinear, addingTo residual: inout Tensor) {
    let rows = x.shape[0]
    x.withUnsafeBufferPointer { xp in
        layer.weight.withUnsafeBufferPointer { wp in
            layer.bias.withUnsafeBufferPointer { bp in
                residual.withUnsafeMutableBufferPointer { rp in
                    SegFormerKernels.linear(xp.baseAddress!, ldx: layer.inFeatures, rows: rows, inFeatures: layer.inFeatures,
                                            weight: wp.baseAddress!, bias: bp.baseAddress!, outFeatures: layer.outFeatures,
                                            out: rp.baseAddress!, ldo: layer.outFeatures, accumulate: true)
                }
            }
        }
    }
}

func convolved(_ x: Tensor, height h: Int, width w: Int, _ conv: SegFormerConv) -> Tensor {
    let (oh, ow) = conv.outputSize(height: h, width: w)
    return Tensor(shape: [oh * ow, conv.outChannels]) { out in
        x.withUnsafeBufferPointer { xp in
            conv.weight.withUnsafeBufferPointer { wp in
                conv.bias.withUnsafeBufferPointer { bp in
                    SegFormerKernels.conv2dTokens(xp.baseAddress!, height: h, width: w, channels: conv.inChannels,
                                                  kernel: conv.kernel, stride: conv.stride, padding: conv.padding,
                                                  weight: wp.baseAddress!, bias: bp.baseAddress!,
                                                  outChannels: conv.outChannels, out: out.baseAddress!)
                }
            }
        }
    }
}

/// Calls `body` with the base pointers of dense `tensors`, kept alive for the call.
func withPointers<R>(_ tensors: [Tensor], _ body: ([UnsafePointer<Float>]) -> R) -> R {
    func go(_ i: Int, _ acc: [UnsafePointer<Float>]) -> R {
        if i == tensors.count { return body(acc) }
        return tensors[i].withUnsafeBufferPointer { go(i + 1, acc + [$0.baseAddress!]) }
    }
    return go(0, [])
}
