import Foundation
import MediaIO
import Networks
import TensorCore

/// `sviabench detectors [--models DIR] [--runs N] [--ref FILE] NAME=FRAME.png ...`: per frame, the face and
/// text detectors end to end (detection at a reduced size, masks at full resolution), and each network
/// alone at its input size. `--ref` is the JSON the onnxruntime script wrote for the same frames and sizes.
enum DetectorBench {
    /// deface `--scale 640x360` for faces; text detection with the longer side limited to 960.
    static let faceOptions = FaceDetector.Options(threshold: 0.2, scale: (640, 360))
    static let textOptions = TextDetector.Options(limitType: .max, limitSideLength: 960)

    struct Usage: Error, CustomStringConvertible {
        var description: String { "usage: sviabench detectors [--models DIR] [--runs N] [--ref FILE] NAME=FRAME.png ..." }
    }

    static func run(_ args: [String]) throws {
        var models: String?
        var runs = 5
        var refPath: String?
        var frames: [(String, String)] = []
        var i = 0
        while i < args.count {
            switch args[i] {
            case "--models" where i + 1 < args.count: models = args[i + 1]; i += 2
            case "--runs" where i + 1 < args.count: runs = Int(args[i + 1]) ?? runs; i += 2
            case "--ref" where i + 1 < args.count: refPath = args[i + 1]; i += 2
            default:
                let parts = args[i].split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw Usage() }
                frames.append((parts[0], parts[1]))
                i += 1
            }
        }
        guard !frames.isEmpty else { throw Usage() }
        var ref: [String: Double] = [:]
        if let refPath {
            let data = try Data(contentsOf: URL(fileURLWithPath: refPath))
            ref = (try JSONSerialization.jsonObject(with: data) as? [String: Double]) ?? [:]
        }
        if let models { setenv(ModelLocator.environmentVariable, models, 1) }
        let faces = try FaceDetector()
        let text = try TextDetector()

        var netCases: [String: (Tensor, ONNXNetwork)] = [:]
        for (name, path) in frames {
            let image = try StillImage.read(path: path)
            let frame = try RGBFrame(width: image.width, height: image.height, pixels: image.pixels)
            let faceInput = FaceDetector.preprocess(frame, options: faceOptions)
            let textInput = try TextDetector.preprocess(frame, options: textOptions)
            netCases["centerface_net_\(faceInput.shape[3])x\(faceInput.shape[2])"] = (faceInput, faces.network)
            netCases["ppocr_net_\(textInput.shape[3])x\(textInput.shape[2])"] = (textInput, text.network)

            var found = (0, 0)
            let seconds = try Measure.median(runs: runs, warmup: 1) {
                let f = try faces.detect(frame, options: faceOptions)
                let t = try text.detect(frame, options: textOptions)
                var mask = DetectionMask.faces(f, width: frame.width, height: frame.height, maskScale: faceOptions.maskScale)
                DetectionMask.addText(t, to: &mask, width: frame.width, height: frame.height)
                found = (f.count, t.count)
            }
            let caseName = "faces+text_\(name)"
            BenchLine(area: "detectors", caseName: caseName, sviaSeconds: seconds, ref: ref[caseName] == nil ? nil : "onnxruntime",
                      refSeconds: ref[caseName],
                      extra: [("fps", String(format: "%.2f", 1 / seconds)),
                              ("ref_fps", ref[caseName].map { String(format: "%.2f", 1 / $0) } ?? "null"),
                              ("frame", "\"\(image.width)x\(image.height)\""), ("faces", "\(found.0)"),
                              ("text_regions", "\(found.1)")]).emit()
        }
        for (caseName, (input, network)) in netCases.sorted(by: { $0.key < $1.key }) {
            let seconds = try Measure.median(runs: runs, warmup: 1) { _ = try network.run(input) }
            BenchLine(area: "detectors", caseName: caseName, sviaSeconds: seconds, ref: ref[caseName] == nil ? nil : "onnxruntime",
                      refSeconds: ref[caseName]).emit()
        }
    }
}
