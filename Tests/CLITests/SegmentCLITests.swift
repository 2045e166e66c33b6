import Foundation
import MediaIO
import Testing

/// `svia segment` and segmenter-driven `anonymize`, with a tiny random-weight SegFormer in the real
/// transformers layout (the Networks parity fixture): the class maps are arbitrary but deterministic.
@Suite(.serialized) struct SegmentCLITests {
    static let tinySegFormer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("NetworksTests/Fixtures/segformer/tiny1").path

    @Test func segmentWritesMapsThatAnonymizeAcceptsBack() throws {
        let s = try Scratch()
        let img = texture(width: 64, height: 48)
        try StillImage.write(img, to: s.file("street.png"))
        let r = try CLI.run(["segment", s.file("street.png"), "-o", s.file("seg"), "--segmenter", Self.tinySegFormer, "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Set(s.tree("seg")).isSuperset(of: ["street.png", "street_overlay.jpg", "street_person.png",
                                                   "street_vehicle.png", "street_road.png"]))
        let map = try StillImage.readGray(path: s.file("seg/street.png"))
        #expect(map.width == 64 && map.height == 48)
        #expect(map.pixels.allSatisfy { $0 < 19 })

        // The maps go back in as --masks; the same regions come out of --segmenter directly.
        let viaMasks = try CLI.run(["anonymize", "--detect", "none", s.file("street.png"), "--masks", s.file("seg"),
                                    "--method", "graymask", "-o", s.file("a.png"), "-q"])
        #expect(viaMasks.status == 0, "\(viaMasks.stderr)")
        let direct = try CLI.run(["anonymize", "--detect", "none", s.file("street.png"), "--segmenter", Self.tinySegFormer,
                                  "--method", "graymask", "-o", s.file("b.png"), "-q"])
        #expect(direct.status == 0, "\(direct.stderr)")
        let a = try StillImage.read(path: s.file("a.png")), b = try StillImage.read(path: s.file("b.png"))
        #expect(a == b)
        // Replaced exactly where the class map has a privacy class (road ... building, people, vehicles, signs).
        let privacy: Set<UInt8> = [0, 1, 2, 3, 4, 6, 7, 11, 12, 13, 14, 15, 16, 17, 18]
        for i in 0..<(64 * 48) {
            let inside = privacy.contains(map.pixels[i])
            let px = (a.pixels[3 * i], a.pixels[3 * i + 1], a.pixels[3 * i + 2])
            if inside { #expect(px == (128, 128, 128)) }
            else { #expect(px == (img.pixels[3 * i], img.pixels[3 * i + 1], img.pixels[3 * i + 2])) }
        }
    }

    @Test func missingSegmenterIsAClearError() throws {
        let s = try Scratch()
        try StillImage.write(texture(width: 16, height: 16), to: s.file("x.png"))
        let r = try CLI.run(["segment", s.file("x.png"), "-o", s.file("seg"), "--segmenter", s.file("nowhere")],
                            environment: ["HF_HUB_CACHE": s.file("empty-cache")])
        #expect(r.status != 0)
        #expect(r.stderr.contains("not found") && r.stderr.contains("huggingface-cli download"))
        let bad = try s.mkdir("broken")
        try "{\"model_type\": \"segformer\", \"depths\": [1]}".write(toFile: bad + "/config.json", atomically: true, encoding: .utf8)
        let r2 = try CLI.run(["segment", s.file("x.png"), "-o", s.file("seg"), "--segmenter", bad])
        #expect(r2.status != 0)
        #expect(r2.stderr.contains("broken"), "\(r2.stderr)")
    }
}
