// Ports deface 1.5.0 `deface/centerface.py` (CenterFace.__call__, decode, nms) and the ellipse region of
// `deface/deface.py` (scale_bb, draw_det with skimage.draw.ellipse); landmarks are not decoded.
import Foundation
import TensorCore

/// A detected face: a box in full-frame pixel coordinates (x1, y1) to (x2, y2) and the heatmap score.
public struct Detection: Sendable, Equatable {
    public var x1: Float
    public var y1: Float
    public var x2: Float
    public var y2: Float
    public var score: Float

    public init(x1: Float, y1: Float, x2: Float, y2: Float, score: Float) {
        self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2; self.score = score
    }
}

/// Faces with CenterFace (`Models/centerface.onnx`), pre- and post-processed as deface does.
public struct FaceDetector: Sendable {
    public struct Options: Sendable, Equatable {
        /// Heatmap threshold (deface `--thresh`, default 0.2).
        public var threshold: Float
        /// Size the frame is resized to for the network (deface `--scale WxH`); nil: the frame's own size.
        /// Either way each side is rounded up to a multiple of 32 and the picture stretched to it.
        public var scale: (width: Int, height: Int)?
        /// Overlap above which the weaker of two boxes is dropped.
        public var nmsThreshold: Float
        /// Box enlargement for masks (deface `--mask-scale`, default 1.3).
        public var maskScale: Double

        public init(threshold: Float = 0.2, scale: (width: Int, height: Int)? = nil, nmsThreshold: Float = 0.3,
                    maskScale: Double = 1.3) {
            self.threshold = threshold
            self.scale = scale
            self.nmsThreshold = nmsThreshold
            self.maskScale = maskScale
        }

        public static let `default` = Options()

        public static func == (a: Options, b: Options) -> Bool {
            a.threshold == b.threshold && a.scale?.width == b.scale?.width && a.scale?.height == b.scale?.height
                && a.nmsThreshold == b.nmsThreshold && a.maskScale == b.maskScale
        }
    }

    public static let modelFile = "centerface.onnx"
    static let outputs = (heatmap: "537", scale: "538", offset: "539")

    public let network: ONNXNetwork

    public init(modelPath: String) throws {
        network = try ONNXNetwork(path: modelPath)
        for name in [FaceDetector.outputs.heatmap, FaceDetector.outputs.scale, FaceDetector.outputs.offset]
        where !network.outputNames.contains(name) {
            throw DetectorError.unexpectedModel(file: network.file, reason: "no output '\(name)' (not CenterFace?)")
        }
    }

    /// Loads the shipped model (see `ModelLocator`).
    public init() throws {
        try self.init(modelPath: try ModelLocator.path(of: FaceDetector.modelFile))
    }

    /// Network input size for a frame: the requested size with each side rounded up to a multiple of 32.
    public static func inputSize(width: Int, height: Int, options: Options) -> (width: Int, height: Int) {
        let w = options.scale?.width ?? width, h = options.scale?.height ?? height
        return ((w + 31) / 32 * 32, (h + 31) / 32 * 32)
    }

    /// The network input for a frame: RGB as 0–255 floats (no mean or scaling), [1, 3, H, W].
    public static func preprocess(_ frame: RGBFrame, options: Options) -> Tensor {
        let (w, h) = inputSize(width: frame.width, height: frame.height, options: options)
        let resized = BilinearResize.resize(frame.pixels, width: frame.width, height: frame.height,
                                            outWidth: w, outHeight: h)
        return BilinearResize.tensor(resized, width: w, height: h, bgr: false)
    }

    public func detect(rgb: [UInt8], width: Int, height: Int, options: Options = .default) throws -> [Detection] {
        try detect(try RGBFrame(width: width, height: height, pixels: rgb), options: options)
    }

    /// The full-frame 0/1 mask of the faces in a packed RGB24 frame: ellipses in the boxes enlarged by
    /// `options.maskScale`, as deface blurs them.
    public func mask(rgb: [UInt8], width: Int, height: Int, options: Options = .default) throws -> [UInt8] {
        let faces = try detect(rgb: rgb, width: width, height: height, options: options)
        return DetectionMask.faces(faces, width: width, height: height, maskScale: options.maskScale)
    }

    /// Faces in `frame`, boxes in frame coordinates, in the order deface reports them (heatmap row-major).
    public func detect(_ frame: RGBFrame, options: Options = .default) throws -> [Detection] {
        let input = FaceDetector.preprocess(frame, options: options)
        let out = try network.run(input)
        let (w, h) = (input.shape[3], input.shape[2])
        var dets = try FaceDetector.decode(
            heatmap: out[FaceDetector.outputs.heatmap]!, scale: out[FaceDetector.outputs.scale]!,
            offset: out[FaceDetector.outputs.offset]!, inputWidth: w, inputHeight: h, options: options)
        let sx = Double(w) / Double(frame.width), sy = Double(h) / Double(frame.height)
        for i in dets.indices {
            dets[i].x1 = Float(Double(dets[i].x1) / sx); dets[i].x2 = Float(Double(dets[i].x2) / sx)
            dets[i].y1 = Float(Double(dets[i].y1) / sy); dets[i].y2 = Float(Double(dets[i].y2) / sy)
        }
        return dets
    }

    /// Boxes from the network outputs at input resolution: heatmap [1,1,h,w], scale and offset [1,2,h,w]
    /// (stride 4); every cell above the threshold is a candidate, then non-maximum suppression.
    public static func decode(heatmap: Tensor, scale: Tensor, offset: Tensor, inputWidth: Int, inputHeight: Int,
                              options: Options) throws -> [Detection] {
        guard heatmap.rank == 4, scale.rank == 4, offset.rank == 4, scale.shape[1] == 2, offset.shape[1] == 2,
              heatmap.shape[2...] == scale.shape[2...], heatmap.shape[2...] == offset.shape[2...] else {
            throw DetectorError.unexpectedModel(
                file: modelFile, reason: "outputs \(heatmap.shape), \(scale.shape), \(offset.shape) are not CenterFace's")
        }
        let h = heatmap.shape[2], w = heatmap.shape[3], plane = h * w
        let heat = heatmap.scalars, s = scale.scalars, o = offset.scalars
        let size = (w: Double(inputWidth), h: Double(inputHeight))
        var boxes: [Detection] = []
        // Row-major order over (row, column), as numpy.where returns the candidates.
        for i in 0..<plane where heat[i] > options.threshold {
            // deface mixes float32 maps with integer indices, so numpy computes the corners in float64.
            let c0 = Double(i / w), c1 = Double(i % w)
            let s0 = Double(Foundation.exp(s[i]) * 4), s1 = Double(Foundation.exp(s[plane + i]) * 4)
            let o0 = Double(o[i]), o1 = Double(o[plane + i])
            var x1 = Swift.max(0, (c1 + o1 + 0.5) * 4 - s1 / 2), y1 = Swift.max(0, (c0 + o0 + 0.5) * 4 - s0 / 2)
            x1 = Swift.min(x1, size.w)
            y1 = Swift.min(y1, size.h)
            boxes.append(Detection(x1: Float(x1), y1: Float(y1), x2: Float(Swift.min(x1 + s1, size.w)),
                                   y2: Float(Swift.min(y1 + s0, size.h)), score: heat[i]))
        }
        return nms(boxes, threshold: options.nmsThreshold)
    }

    /// Greedy suppression in descending score order (ties: the later candidate first, as numpy's
    /// argsort(...)[::-1] orders them); a box is dropped when its IoU with a kept one is ≥ `threshold`.
    static func nms(_ boxes: [Detection], threshold: Float) -> [Detection] {
        let order = boxes.indices.sorted { a, b in
            boxes[a].score != boxes[b].score ? boxes[a].score > boxes[b].score : a > b
        }
        let area = boxes.map { ($0.x2 - $0.x1) * ($0.y2 - $0.y1) }
        var suppressed = [Bool](repeating: false, count: boxes.count)
        for (rank, i) in order.enumerated() where !suppressed[i] {
            for j in order[(rank + 1)...] where !suppressed[j] {
                let w = Swift.max(0, Swift.min(boxes[i].x2, boxes[j].x2) - Swift.max(boxes[i].x1, boxes[j].x1))
                let h = Swift.max(0, Swift.min(boxes[i].y2, boxes[j].y2) - Swift.max(boxes[i].y1, boxes[j].y1))
                let inter = w * h
                if inter / (area[i] + area[j] - inter) >= threshold { suppressed[j] = true }
            }
        }
        // deface keeps the survivors in their original (candidate) order.
        return boxes.indices.filter { !suppressed[$0] }.map { boxes[$0] }
    }
}
