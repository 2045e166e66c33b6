import Foundation
import MediaIO
import Testing

/// The shipped detectors through the command line, on the real sample stills.
@Suite(.serialized) struct DetectorCLITests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("SampleClips")

    @Test func plateIsReplacedWithoutLabelMapsAndTheRestIsUntouched() throws {
        let s = try Scratch()
        let input = Self.samples.appendingPathComponent("licenseplate_motion.jpg").path
        let r = try CLI.run(["anonymize", input, "--detect", "text", "--method", "blur", "--detect-replace", "graymask",
                             "-o", s.file("out.png"), "--report", s.file("r.json")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("shipped detectors"))
        let src = try StillImage.read(path: input)
        let out = try StillImage.read(path: s.file("out.png"))
        // The plate (hand-measured box in the 600x482 still) is gray; the top-left corner is not touched.
        var gray = 0, total = 0
        for y in 235..<290 {
            for x in 235..<350 {
                total += 1
                if out[x, y] == (128, 128, 128) { gray += 1 }
            }
        }
        #expect(Double(gray) / Double(total) > 0.8, "plate covered \(gray)/\(total)")
        for y in 0..<40 { for x in 0..<40 { #expect(out[x, y] == src[x, y]) } }
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.file("r.json")))) as? [String: Any]
        let coverage = (report?["files"] as? [[String: Any]])?.first?["categoryCoverage"] as? [String: Double]
        #expect((coverage?["text"] ?? 0) > 0)
    }

    /// Without --detect-replace, detected regions are replaced the way --method asks (here: flat gray).
    @Test func detectedRegionsFollowTheBaselineMethod() throws {
        let s = try Scratch()
        let input = Self.samples.appendingPathComponent("licenseplate_motion.jpg").path
        let r = try CLI.run(["anonymize", input, "--detect", "text", "--method", "graymask", "-o", s.file("out.png"), "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try StillImage.read(path: s.file("out.png"))
        var gray = 0, total = 0
        for y in 235..<290 {
            for x in 235..<350 {
                total += 1
                if out[x, y] == (128, 128, 128) { gray += 1 }
            }
        }
        #expect(Double(gray) / Double(total) > 0.8, "plate gray \(gray)/\(total)")
    }
}
