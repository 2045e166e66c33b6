import Foundation
import TensorCore

/// ONNX Resize (and the older Upsample) over the last two axes of an NCHW tensor.
struct ResizeSpec: Sendable, Equatable {
    enum Mode: String, Sendable { case nearest, linear }
    enum CoordinateMode: String, Sendable {
        case halfPixel = "half_pixel", pytorchHalfPixel = "pytorch_half_pixel"
        case alignCorners = "align_corners", asymmetric = "asymmetric"
    }
    enum NearestMode: String, Sendable {
        case roundPreferFloor = "round_prefer_floor", roundPreferCeil = "round_prefer_ceil"
        case floor, ceil
    }

    var mode: Mode
    var coordinates: CoordinateMode
    var nearest: NearestMode
    /// Either scales for (H, W) or fixed output sizes (H, W).
    var scales: (h: Float, w: Float)?
    var sizes: (h: Int, w: Int)?

    static func == (a: ResizeSpec, b: ResizeSpec) -> Bool {
        a.mode == b.mode && a.coordinates == b.coordinates && a.nearest == b.nearest
            && a.scales?.h == b.scales?.h && a.scales?.w == b.scales?.w
            && a.sizes?.h == b.sizes?.h && a.sizes?.w == b.sizes?.w
    }

    func outputSize(h: Int, w: Int) -> (h: Int, w: Int) {
        if let sizes { return sizes }
        let s = scales ?? (1, 1)
        return (Int((Float(h) * s.h).rounded(.down)), Int((Float(w) * s.w).rounded(.down)))
    }

    /// Source coordinate of output index `o` along an axis of `inSize` → `outSize` with scale `scale`.
    func sourceCoordinate(_ o: Int, inSize: Int, outSize: Int, scale: Float) -> Float {
        switch coordinates {
        case .asymmetric: return Float(o) / scale
        case .halfPixel: return (Float(o) + 0.5) / scale - 0.5
        case .pytorchHalfPixel: return outSize > 1 ? (Float(o) + 0.5) / scale - 0.5 : 0
        case .alignCorners: return outSize > 1 ? Float(o) * Float(inSize - 1) / Float(outSize - 1) : 0
        }
    }

    func nearestIndex(_ x: Float, inSize: Int) -> Int {
        let i: Int
        switch nearest {
        case .floor: i = Int(x.rounded(.down))
        case .ceil: i = Int(x.rounded(.up))
        case .roundPreferFloor: i = x == x.rounded(.down) + 0.5 ? Int(x.rounded(.down)) : Int(x.rounded())
        case .roundPreferCeil: i = x == x.rounded(.down) + 0.5 ? Int(x.rounded(.up)) : Int(x.rounded())
        }
        return Swift.min(Swift.max(i, 0), inSize - 1)
    }
}

extension ONNXKernels {
    static func resize(_ input: Tensor, _ spec: ResizeSpec) -> Tensor {
        let x = input.contiguous()
        let r = x.rank
        let h = x.shape[r - 2], w = x.shape[r - 1]
        let (oh, ow) = spec.outputSize(h: h, w: w)
        // The scale used for coordinates is the given one, or out/in when sizes were given.
        let scaleH = spec.scales?.h ?? Float(oh) / Float(h)
        let scaleW = spec.scales?.w ?? Float(ow) / Float(w)
        let planes = x.count / max(h * w, 1)
        var shape = x.shape
        shape[r - 2] = oh
        shape[r - 1] = ow
        if spec.mode == .nearest {
            let ys = (0..<oh).map { spec.nearestIndex(spec.sourceCoordinate($0, inSize: h, outSize: oh, scale: scaleH), inSize: h) }
            let xs = (0..<ow).map { spec.nearestIndex(spec.sourceCoordinate($0, inSize: w, outSize: ow, scale: scaleW), inSize: w) }
            return Tensor(shape: shape) { out in
                x.withUnsafeBufferPointer { src in
                    ThreadPool.parallelFor(planes) { range in
                        for p in range {
                            let s = src.baseAddress! + p * h * w, d = out.baseAddress! + p * oh * ow
                            for oy in 0..<oh {
                                let srow = s + ys[oy] * w, drow = d + oy * ow
                                for ox in 0..<ow { drow[ox] = srow[xs[ox]] }
                            }
                        }
                    }
                }
            }
        }
        func taps(_ n: Int, inSize: Int, scale: Float) -> [(Int, Int, Float)] {
            (0..<n).map { o in
                let c = Swift.min(Swift.max(spec.sourceCoordinate(o, inSize: inSize, outSize: n, scale: scale), 0),
                                  Float(inSize - 1))
                let i0 = Int(c.rounded(.down)), i1 = Swift.min(i0 + 1, inSize - 1)
                return (i0, i1, c - Float(i0))
            }
        }
        let ty = taps(oh, inSize: h, scale: scaleH), tx = taps(ow, inSize: w, scale: scaleW)
        return Tensor(shape: shape) { out in
            x.withUnsafeBufferPointer { src in
                ThreadPool.parallelFor(planes) { range in
                    for p in range {
                        let s = src.baseAddress! + p * h * w, d = out.baseAddress! + p * oh * ow
                        for oy in 0..<oh {
                            let (y0, y1, fy) = ty[oy]
                            let r0 = s + y0 * w, r1 = s + y1 * w, drow = d + oy * ow
                            for ox in 0..<ow {
                                let (x0, x1, fx) = tx[ox]
                                let top = r0[x0] + (r0[x1] - r0[x0]) * fx
                                let bottom = r1[x0] + (r1[x1] - r1[x0]) * fx
                                drow[ox] = top + (bottom - top) * fy
                            }
                        }
                    }
                }
            }
        }
    }
}
