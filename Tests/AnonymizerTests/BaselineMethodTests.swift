import MediaIO
import Testing
@testable import Anonymizer

@Suite struct BaselineMethodTests {
    /// A noisy 37x23 picture (odd size) and a mask covering a blob in its middle.
    static func sample() -> (RGBImage, Mask) {
        var img = RGBImage(width: 37, height: 23)
        var state: UInt32 = 12345
        for i in 0..<img.pixels.count {
            state = state &* 1_664_525 &+ 1_013_904_223
            img.pixels[i] = UInt8(truncatingIfNeeded: state >> 24)
        }
        var mask = Mask(width: 37, height: 23)
        for y in 5..<15 { for x in 10..<25 { mask.bits[y * 37 + x] = 1 } }
        return (img, mask)
    }

    @Test(arguments: [BaselineMethod.paperBlur, .paperPixelate, .paperGraymask, .blur(sigma: 1)])
    func changesOnlyInsideTheMask(method: BaselineMethod) {
        let (img, mask) = Self.sample()
        let out = method.apply(to: img, inside: mask)
        var changedInside = 0
        for i in 0..<(img.width * img.height) {
            let same = (0..<3).allSatisfy { out.pixels[3 * i + $0] == img.pixels[3 * i + $0] }
            if mask.bits[i] == 0 { #expect(same, "pixel \(i) outside the mask changed") }
            else if !same { changedInside += 1 }
        }
        #expect(changedInside > mask.area * 9 / 10)
    }

    @Test func graymaskIsFlat128() {
        let (img, mask) = Self.sample()
        let out = BaselineMethod.paperGraymask.apply(to: img, inside: mask)
        #expect(out[12, 7] == (128, 128, 128))
    }

    @Test func pixelateBlocksAreUniformAndMeanColoured() {
        var img = RGBImage(width: 16, height: 8)
        for x in 0..<16 { for y in 0..<8 { img[x, y] = (UInt8(x * 10), UInt8(y * 20), 7) } }
        let all = Mask(width: 16, height: 8, bits: [UInt8](repeating: 1, count: 128))
        let out = BaselineMethod.paperPixelate.apply(to: img, inside: all)
        // Block 0: x 0...7 → mean 35; y 0...7 → mean 70.
        #expect(out[0, 0] == (35, 70, 7))
        #expect(out[7, 7] == (35, 70, 7))
        #expect(out[8, 0] == (115, 70, 7))
    }

    @Test func blurOfFlatRegionIsFlat() {
        let img = RGBImage(width: 20, height: 20, fill: (40, 80, 120))
        let all = Mask(width: 20, height: 20, bits: [UInt8](repeating: 1, count: 400))
        let out = BaselineMethod.blur(sigma: 3).apply(to: img, inside: all)
        #expect(out == img)
    }
}

@Suite struct MaskTests {
    @Test func dilationGrowsByADisc() {
        var m = Mask(width: 21, height: 21)
        m.bits[10 * 21 + 10] = 1
        let d = m.dilated(by: 3)
        #expect(d[10, 7] && d[13, 10] && d[12, 12])
        #expect(!d[13, 13])  // corner of the square, outside the disc
        #expect(!d[10, 6])
        #expect(d.area == 29)  // lattice points with x²+y² ≤ 9
    }

    @Test func labelMapsBecomeCategoryMasks() {
        // trainIds: road (0) left half, car (13) one pixel, rider (12) one pixel, sky (10) elsewhere.
        var lm = GrayImage(width: 4, height: 2, fill: 10)
        lm[0, 0] = 0; lm[1, 0] = 0; lm[2, 1] = 13; lm[3, 1] = 12
        let cm = CategoryMasks(labelMap: lm, format: .trainIds, mapping: .privacy, width: 4, height: 2)
        let byCat = Dictionary(uniqueKeysWithValues: cm.masks.map { ($0.category, $0.mask) })
        #expect(byCat[.road]?.area == 2)
        #expect(byCat[.vehicle]?[2, 1] == true)
        #expect(byCat[.person]?[3, 1] == true)  // riders are people
        let paper = CategoryMasks(labelMap: lm, format: .trainIds, mapping: .paper, width: 4, height: 2)
        #expect(paper.masks.first { $0.category == .person }?.mask.area == 0)  // the paper ignores riders
        // labelIds: 26 is car.
        var ids = GrayImage(width: 2, height: 1, fill: 0)
        ids[1, 0] = 26
        let li = CategoryMasks(labelMap: ids, format: .labelIds, mapping: .privacy, width: 4, height: 2)
        #expect(li.union?.area == 4)  // nearest upscaling of the right pixel
    }
}

@Suite struct MaskPostProcessingTests {
    @Test func specksBelowTheMinimumAreaAreDropped() {
        var m = Mask(width: 20, height: 10)
        for y in 1..<3 { for x in 1..<3 { m.bits[y * 20 + x] = 1 } }     // 4 px
        for y in 2..<8 { for x in 8..<18 { m.bits[y * 20 + x] = 1 } }    // 60 px
        let cleaned = m.removingSpecks(minArea: 10)
        #expect(cleaned.area == 60)
        #expect(!cleaned[1, 1] && cleaned[8, 2])
        #expect(m.removingSpecks(minArea: 0) == m)
    }

    @Test func featherNeverLetsTheOriginalInsideTheMask() {
        let (img, mask) = BaselineMethodTests.sample()
        let hard = BaselineMethod.paperGraymask.apply(to: img, inside: mask)
        let soft = BaselineMethod.paperGraymask.apply(to: img, inside: mask, feather: 4)
        var outsideChanged = 0, farChanged = 0
        let grown = mask.dilated(by: 8)
        for i in 0..<(img.width * img.height) {
            let s = (soft.pixels[3 * i], soft.pixels[3 * i + 1], soft.pixels[3 * i + 2])
            if mask.bits[i] != 0 {
                #expect(s == (hard.pixels[3 * i], hard.pixels[3 * i + 1], hard.pixels[3 * i + 2]))
            } else if s != (img.pixels[3 * i], img.pixels[3 * i + 1], img.pixels[3 * i + 2]) {
                outsideChanged += 1
                if grown.bits[i] == 0 { farChanged += 1 }
            }
        }
        #expect(outsideChanged > 0)   // the edge is soft
        #expect(farChanged == 0)      // and stays near the region
    }
}
