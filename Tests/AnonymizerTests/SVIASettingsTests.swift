import Foundation
import MediaIO
import Testing
@testable import Anonymizer

@Suite struct SVIASettingsTests {
    @Test func paperPresetIsTheReference() {
        let s = SVIASettings(preset: .paper)
        #expect(s.steps == 50 && s.eta == 1 && s.guidance == 9 && s.strength == 0.2)
        #expect(s.seed == 19_260_817 && s.harmonizerSeed == 42)
        #expect(s.passes == .perCategory && !s.skipEmptyCategories && s.harmonizeScope == .frame)
        #expect(s.workSize == (1024, 512))
        // 5 categories x 50 guided steps x 2 + 10 guided harmonizer steps x 2.
        #expect(s.fullPassEvaluations(categories: 5) == 520)
        // The reference's code names the person category "human" (src/inpaint_test.py, `palettes`).
        #expect(s.prompts.prompt(for: .person).positive == "masterpiece, realistic, cityscapes, street, human, real")
        #expect(s.prompts.prompt(for: .road).negative.hasSuffix("human, animal, painting, poster"))
        #expect(s.prompts.classes.isEmpty)
        // The harmonizer's own eta; the picture stretched to 1024x512 whatever its shape.
        #expect(s.harmonizerEta == 1)
        #expect(s.workingSize(width: 1920, height: 1080) == (1024, 512))
        // Video: every frame painted as a still, from the same seed, without reuse or mask memory.
        #expect(!s.reuse && !s.freshNoisePerFrame && s.maskMemory == 0)
    }

    @Test func otherPresetsKeepTheAspectRatioNearTheArea() {
        let s = SVIASettings(preset: .default)
        #expect(s.keepAspect && s.harmonizerEta == 0 && s.reuse)
        #expect(s.workingSize(width: 2048, height: 1024) == (1024, 512))
        #expect(s.workingSize(width: 1920, height: 1080) == (1024, 576))
        #expect(s.workingSize(width: 1280, height: 720) == (1024, 576))
        for (w, h) in [(640, 480), (1080, 1920), (1000, 333), (97, 61)] {
            let (ww, wh) = s.workingSize(width: w, height: h)
            #expect(ww % 64 == 0 && wh % 64 == 0)
            let aspect = abs(log(Double(ww) / Double(wh) / (Double(w) / Double(h))))
            let area = abs(log(Double(ww * wh) / (1024 * 512)))
            #expect(aspect < 0.1 && area < 0.2, "\(w)x\(h) -> \(ww)x\(wh)")
        }
        var explicit = s
        explicit.keepAspect = false
        explicit.workSize = (640, 320)
        #expect(explicit.workingSize(width: 1920, height: 1080) == (640, 320))
    }

    @Test func groupingCategoriesGetAPromptPerClass() {
        let p = SVIASettings(preset: .default).prompts
        for name in ["truck", "bus", "train", "motorcycle", "bicycle", "rider"] {
            #expect(p.classes[name] != nil, "\(name)")
        }
        #expect(p.prompt(forClass: "bus", in: .vehicle).positive.contains("bus"))
        #expect(p.prompt(forClass: "car", in: .vehicle) == p.prompt(for: .vehicle))
        #expect(p.prompt(forClass: "rider", in: .person).positive.hasSuffix("real"))
        #expect(SVIASettings(preset: .fast).prompts == p)
    }

    @Test func fastPresetUsesTurboAndTinyAutoencoderWithinAFiftiethOfThePaper() {
        let fast = SVIASettings(preset: .fast), paper = SVIASettings(preset: .paper)
        #expect(fast.repositories == ["stabilityai/sd-turbo", "madebyollin/taesd"])
        #expect(fast.passes == .single && fast.guidance <= 1 && fast.sampler == .euler)
        // A keyframe of a video: its full pass, the reuse refinement (1 of a 2-step schedule) and the harmonizer.
        let keyframe = fast.fullPassEvaluations(categories: 5) + 1
        #expect(keyframe * 50 <= paper.fullPassEvaluations(categories: 5))
    }

    /// The presets' models and segmenter preference are the catalog's: paper prefers SegFormer-B5, fast B0.
    @Test func presetModelsComeFromTheCatalog() {
        let paper = SVIASettings(preset: .paper), fast = SVIASettings(preset: .fast)
        #expect(paper.repositories == ["stabilityai/stable-diffusion-2-inpainting", "stabilityai/stable-diffusion-2"])
        #expect(paper.segmenterRepositories.first == "nvidia/segformer-b5-finetuned-cityscapes-1024-1024")
        #expect(paper.segmenterRepositories.count == 6)
        #expect(fast.segmenterRepositories.first == "nvidia/segformer-b0-finetuned-cityscapes-1024-1024")
        #expect(fast.harmonizerRepository == "stabilityai/sd-turbo")
    }

    @Test func validationNamesTheOption() {
        var s = SVIASettings(preset: .default)
        s.workSize = (1000, 500)
        #expect(throws: PlanError.self) { try s.validate() }
        s = SVIASettings(preset: .default)
        s.strength = 0
        do { try s.validate(); Issue.record("strength 0 accepted") } catch {
            #expect("\(error)".contains("--strength"))
        }
    }

    @Test func promptsFileOverridesWhatItNamesAndRejectsUnknownCategories() throws {
        let dir = NSTemporaryDirectory() + "svia-prompts-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = dir + "/p.json", bad = dir + "/bad.json", broken = dir + "/broken.json"
        try #"{"categories": {"person": {"positive": "a pedestrian", "negative": "blur"}}}"#
            .write(toFile: good, atomically: true, encoding: .utf8)
        try #"{"categories": {"cat": {"positive": "x", "negative": "y"}}}"#.write(toFile: bad, atomically: true, encoding: .utf8)
        try #"{"combined": {"positive": 3}}"#.write(toFile: broken, atomically: true, encoding: .utf8)
        let p = try SVIAPrompts.load(path: good, over: .paper)
        #expect(p.prompt(for: .person) == CategoryPrompt(positive: "a pedestrian", negative: "blur"))
        #expect(p.prompt(for: .road) == SVIAPrompts.paper.prompt(for: .road))
        for path in [bad, broken, dir + "/missing.json"] {
            do { _ = try SVIAPrompts.load(path: path, over: .paper); Issue.record("\(path) accepted") } catch {
                #expect("\(error)".contains(path))
            }
        }
    }
}

@Suite struct SVIAMaskTests {
    /// A vehicle region of a car, a bus and a truck whose prompts match the car's: two parts, every pixel in one.
    @Test func classesSplitACategoryByPrompt() {
        var prompts = SVIAPrompts.privacy
        prompts.classes["truck"] = prompts.prompt(for: .vehicle)
        func band(_ x: Range<Int>) -> Mask {
            var m = Mask(width: 12, height: 2)
            for y in 0..<2 { for i in x { m.bits[y * 12 + i] = 1 } }
            return m
        }
        // The category's region reaches one pixel past its classes (pixel 11: mask memory).
        let region = band(0..<12)
        let classes = [ClassRegion(category: .vehicle, className: "car", mask: band(0..<3)),
                       ClassRegion(category: .vehicle, className: "bus", mask: band(3..<6)),
                       ClassRegion(category: .vehicle, className: "truck", mask: band(6..<11)),
                       ClassRegion(category: .person, className: "rider", mask: band(0..<12))]
        let parts = SVIAPainter.promptParts(region, category: .vehicle, classes: classes, prompts: prompts)
        #expect(parts.map(\.key) == ["vehicle", "class:bus"])
        #expect(parts[0].mask.area == 2 * 9 && parts[1].mask.area == 2 * 3)
        #expect(parts[0].mask.union(parts[1].mask).bits == region.bits)
        // A category without classes of its own: one part.
        #expect(SVIAPainter.promptParts(region, category: .road, classes: classes, prompts: prompts).map(\.key) == ["road"])
    }

    /// Every working pixel whose footprint holds a region pixel is covered, and coverage comes in whole cells.
    @Test(arguments: [(97, 61, 64, 32, 8), (640, 480, 64, 32, 2), (50, 40, 64, 64, 8)])
    func coverMaskCoversTheRegionInWholeCells(sw: Int, sh: Int, ww: Int, wh: Int, cell: Int) {
        var mask = Mask(width: sw, height: sh)
        // A thin diagonal line and a single pixel: what nearest-neighbour downscaling would lose.
        for i in 0..<min(sw, sh) { mask.bits[i * sw + i] = 1 }
        mask.bits[(sh - 1) * sw + sw / 2] = 1
        let cover = SVIAPainter.coverMask(mask, width: ww, height: wh, cell: cell)
        // Resizing the painting back to the source reads working pixels within max(1, work/source) of each
        // source pixel's centre: all of them must be painted.
        let reachX = max(1, Double(ww) / Double(sw)), reachY = max(1, Double(wh) / Double(sh))
        for y in 0..<sh {
            for x in 0..<sw where mask[x, y] {
                let cx = (Double(x) + 0.5) * Double(ww) / Double(sw), cy = (Double(y) + 0.5) * Double(wh) / Double(sh)
                for wy in max(0, Int(cy - reachY))...min(wh - 1, Int(cy + reachY)) {
                    for wx in max(0, Int(cx - reachX))...min(ww - 1, Int(cx + reachX)) {
                        #expect(cover[wx, wy], "region pixel \(x),\(y) reads unpainted \(wx),\(wy)")
                    }
                }
            }
        }
        for cy in stride(from: 0, to: wh, by: cell) {
            for cx in stride(from: 0, to: ww, by: cell) {
                let values = Set((cy..<min(wh, cy + cell)).flatMap { y in (cx..<min(ww, cx + cell)).map { cover[$0, y] } })
                #expect(values.count == 1, "cell \(cx),\(cy) partly covered")
            }
        }
        #expect(SVIAPainter.coverMask(Mask(width: sw, height: sh), width: ww, height: wh, cell: cell).isEmpty)
    }

    @Test func laplaceNoiseStaysInsideTheMaskAndIsSeeded() {
        var img = RGBImage(width: 64, height: 64, fill: (128, 128, 128))
        img[0, 0] = (0, 0, 0)
        var mask = Mask(width: 64, height: 64)
        for y in 16..<48 { for x in 16..<48 { mask.bits[y * 64 + x] = 1 } }
        let a = SVIAPainter.laplaceNoised(img, inside: mask, scale: 64, seed: 7)
        let b = SVIAPainter.laplaceNoised(img, inside: mask, scale: 64, seed: 7)
        let c = SVIAPainter.laplaceNoised(img, inside: mask, scale: 64, seed: 8)
        #expect(a == b && a != c)
        var changed = 0, absSum = 0.0
        for y in 0..<64 {
            for x in 0..<64 {
                if mask[x, y] {
                    if a[x, y] != img[x, y] { changed += 1 }
                    absSum += Double(abs(Int(a[x, y].0) - 128))
                } else {
                    #expect(a[x, y] == img[x, y])
                }
            }
        }
        #expect(changed > 32 * 32 * 9 / 10)
        // Laplace(0, 64) has mean |x| = 64; clipping at 0 and 255 pulls it a little lower.
        let meanAbs = absSum / Double(32 * 32)
        #expect(meanAbs > 45 && meanAbs < 70, "mean |noise| \(meanAbs)")
        #expect(SVIAPainter.laplaceNoised(img, inside: mask, scale: 0, seed: 7) == img)
    }
}
