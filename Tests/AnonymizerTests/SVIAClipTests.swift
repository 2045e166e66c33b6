import MediaIO
import Testing
@testable import Anonymizer

/// The video state of `--method svia` on its own: motion composed back to the anchor, carried content sampled
/// once from where it was painted, and every region cell it cannot explain marked for fresh painting.
@Suite struct SVIAClipTests {
    static let width = 64, height = 32

    /// A street wider than the frame, seen from column `offset`.
    static func view(_ offset: Int) -> RGBImage {
        var img = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                let u = x + offset
                img[x, y] = (UInt8((u * 37 + y * 11) & 255), UInt8((u * u + y * 7) & 255), UInt8((u * 5 + y * y) & 255))
            }
        }
        return img
    }

    static func full() -> Mask {
        Mask(width: width, height: height, bits: [UInt8](repeating: 1, count: width * height))
    }

    @Test func panCarriesTheAnchorAndMarksEnteringCellsFresh() throws {
        var settings = SVIASettings(preset: .default)
        settings.keyframeInterval = 0
        settings.maxUncoveredShare = 1
        var clip = SVIAClip(settings: settings)
        let union = Self.full()
        // Frame 0: the anchor is a picture unlike the frames (painted content), painted everywhere.
        clip.observe(Self.view(0))
        #expect(clip.carry(Self.view(0), union: union, passes: [("x", union)], settings: settings, cell: 4) == nil)
        var painted = RGBImage(width: Self.width, height: Self.height)
        for y in 0..<Self.height { for x in 0..<Self.width { painted[x, y] = (UInt8((x * 5) & 255), UInt8((y * 9) & 255), 77) } }
        clip.startAnchor(painted, painted: union)
        clip.finishFrame()
        // Frames 1..3: the camera pans 2 pixels a frame; the anchor is not replaced, so motion composes.
        for t in 1...3 {
            clip.observe(Self.view(2 * t))
            #expect(!clip.sceneCut && clip.reliable != nil, "t \(t): cut \(clip.sceneCut) score \(clip.cuts.lastScore)")
            let result = clip.carry(Self.view(2 * t), union: union, passes: [("x", union)], settings: settings, cell: 4)
            let carried = try #require(result)
            // Away from the right edge, content at x was at x + 2t in the anchor: sampled there, not re-sampled.
            var entering = 0, enteringFresh = 0
            for y in 4..<(Self.height - 4) {
                for x in 0..<(Self.width - 2 * t - 8) {
                    #expect(carried.fresh[x, y] == false, "t \(t): (\(x), \(y)) marked fresh")
                    #expect(carried.picture[x, y] == painted[x + 2 * t, y], "t \(t): (\(x), \(y)) not carried")
                }
                // Content entering at the right edge has no source in the anchor: fresh. (A block whose wrong
                // match stays under the cost threshold carries painted content from elsewhere instead.)
                for x in (Self.width - 2 * t)..<Self.width {
                    entering += 1
                    if carried.fresh[x, y] { enteringFresh += 1 }
                }
            }
            #expect(4 * enteringFresh >= 3 * entering, "t \(t): \(enteringFresh) of \(entering) entering pixels fresh")
            clip.finishFrame()
        }
    }

    @Test func regionCellsNotPaintedInTheAnchorAreFresh() throws {
        var settings = SVIASettings(preset: .default)
        settings.keyframeInterval = 0
        settings.maxUncoveredShare = 1
        var clip = SVIAClip(settings: settings)
        var left = Mask(width: Self.width, height: Self.height)
        for y in 0..<Self.height { for x in 0..<32 { left.bits[y * Self.width + x] = 1 } }
        clip.observe(Self.view(0))
        _ = clip.carry(Self.view(0), union: left, passes: [("x", left)], settings: settings, cell: 4)
        clip.startAnchor(Self.view(0), painted: left)
        clip.finishFrame()
        // The same static frame, with a region found now on the right half: those cells hold the original in the
        // anchor, so they must be painted afresh; the left half is carried; nothing outside the regions is touched.
        clip.observe(Self.view(0))
        let union = Self.full()
        let result = clip.carry(Self.view(0), union: union, passes: [("x", union)], settings: settings, cell: 4)
        let carried = try #require(result)
        for y in 0..<Self.height {
            for x in 0..<Self.width { #expect(carried.fresh[x, y] == (x >= 32), "(\(x), \(y))") }
        }
    }

    @Test func aCategoryMostlyNewMakesAKeyframe() throws {
        var settings = SVIASettings(preset: .default)
        settings.keyframeInterval = 0
        var clip = SVIAClip(settings: settings)
        var left = Mask(width: Self.width, height: Self.height)
        for y in 0..<Self.height { for x in 0..<32 { left.bits[y * Self.width + x] = 1 } }
        var person = Mask(width: Self.width, height: Self.height)
        for y in 8..<16 { for x in 32..<40 { person.bits[y * Self.width + x] = 1 } }
        clip.observe(Self.view(0))
        _ = clip.carry(Self.view(0), union: left, passes: [("road", left)], settings: settings, cell: 4)
        clip.startAnchor(Self.view(0), painted: left)
        clip.finishFrame()
        // A small person found now: a tiny share of all regions, but all of its own category.
        clip.observe(Self.view(0))
        let union = left.union(person)
        #expect(clip.carry(Self.view(0), union: union, passes: [("road", left), ("person", person)],
                           settings: settings, cell: 4) == nil)
    }
}
