import MediaIO
import Testing
import TensorCore
@testable import Anonymizer

/// Deterministic pseudo-random numbers for synthetic frames.
private struct LCG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }
    mutating func next() -> UInt32 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt32(truncatingIfNeeded: state >> 33)
    }
    mutating func unit() -> Float { Float(next() & 0xFFFF) / 65535 }
}

/// Smooth random texture defined at any real position: random lattice values every `cell` pixels,
/// bilinearly interpolated, so frames can be sampled at fractional shifts.
private struct ValueNoise {
    let cell: Float
    let side = 96
    var grid: [Float]

    init(seed: UInt64, cell: Float) {
        self.cell = cell
        var rng = LCG(seed)
        grid = (0..<(96 * 96)).map { _ in rng.unit() }
    }

    func callAsFunction(_ x: Float, _ y: Float) -> Float {
        let gx = x / cell + 8, gy = y / cell + 8
        let x0 = Int(gx.rounded(.down)), y0 = Int(gy.rounded(.down))
        let fx = gx - Float(x0), fy = gy - Float(y0)
        func at(_ i: Int, _ j: Int) -> Float { grid[(j % side) * side + (i % side)] }
        return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0))
            + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1))
    }
}

/// A textured gray frame whose pixel (x, y) shows the texture at (x + shiftX, y + shiftY): content at
/// p was at p + shift in the unshifted frame, so the expected motion is (shiftX, shiftY).
private func texturedFrame(width: Int, height: Int, shiftX: Float = 0, shiftY: Float = 0, seed: UInt64 = 7) -> GrayImage {
    let coarse = ValueNoise(seed: seed, cell: 6), fine = ValueNoise(seed: seed + 1, cell: 2.5)
    var g = GrayImage(width: width, height: height)
    for y in 0..<height {
        for x in 0..<width {
            let px = Float(x) + shiftX, py = Float(y) + shiftY
            let v = 30 + 150 * coarse(px, py) + 70 * fine(px, py)
            g[x, y] = UInt8(max(0, min(255, v.rounded())))
        }
    }
    return g
}

/// White-noise texture (random per pixel), displaced by integer amounts per region.
private func noiseFrames(width: Int, height: Int, seed: UInt64,
                         shift: (Int, Int) -> (Int, Int)) -> (GrayImage, GrayImage) {
    let pad = 32, bw = width + 2 * pad
    var rng = LCG(seed)
    let big = (0..<(bw * (height + 2 * pad))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    var prev = GrayImage(width: width, height: height), cur = prev
    for y in 0..<height {
        for x in 0..<width {
            prev[x, y] = big[(y + pad) * bw + x + pad]
            let (sx, sy) = shift(x, y)
            cur[x, y] = big[(y + sy + pad) * bw + x + sx + pad]
        }
    }
    return (prev, cur)
}

/// Blocks whose displaced block lies inside the frame for a motion of up to `margin` pixels.
private func interiorBlocks(_ f: MotionField, margin: Int) -> [Int] {
    var out: [Int] = []
    for r in 0..<f.rows {
        for c in 0..<f.columns {
            let x0 = c * f.blockSize, y0 = r * f.blockSize
            if x0 - margin >= 0 && y0 - margin >= 0 && x0 + f.blockSize + margin <= f.width
                && y0 + f.blockSize + margin <= f.height {
                out.append(r * f.columns + c)
            }
        }
    }
    return out
}

@Suite struct TemporalTests {
    // MARK: Luma

    @Test func lumaOfSolidColourIsBT601() {
        let img = RGBImage(width: 7, height: 5, fill: (200, 100, 50))
        let full = Luma.thumbnail(img, width: 7, height: 5)
        #expect(full.pixels.allSatisfy { $0 == 124 })  // 59.8 + 58.7 + 5.7
        let small = Luma.thumbnail(img, width: 3, height: 2)
        #expect(small.width == 3 && small.height == 2)
        #expect(small.pixels.allSatisfy { $0 == 124 })
        let white = Luma.thumbnail(RGBImage(width: 4, height: 4, fill: (255, 255, 255)), width: 2, height: 2)
        #expect(white.pixels == [255, 255, 255, 255])
    }

    @Test func lumaThumbnailAveragesAreas() {
        // Gray columns 0, 30, 60, 90, 120, 150 in a 6x2 picture.
        var img = RGBImage(width: 6, height: 2)
        for y in 0..<2 { for x in 0..<6 { let v = UInt8(30 * x); img[x, y] = (v, v, v) } }
        #expect(Luma.thumbnail(img, width: 3, height: 1).pixels == [15, 75, 135])
        // 6 -> 4: footprints of 1.5 pixels: (0 + 0.5*30)/1.5 = 10, (0.5*30 + 60)/1.5 = 50, ...
        #expect(Luma.thumbnail(img, width: 4, height: 1).pixels == [10, 50, 100, 140])
        // Only green: 0.587 * 200 = 117.4.
        #expect(Luma.thumbnail(RGBImage(width: 2, height: 2, fill: (0, 200, 0)), width: 1, height: 1).pixels == [117])
    }

    // MARK: Block matching

    @Test(arguments: [(3, -2), (-5, 4), (0, 7), (11, -9)])
    func integerShiftIsMatchedExactly(shift: (Int, Int)) {
        let prev = texturedFrame(width: 128, height: 96)
        let cur = texturedFrame(width: 128, height: 96, shiftX: Float(shift.0), shiftY: Float(shift.1))
        let field = BlockMatcher(blockSize: 8, searchRadius: 16).estimate(previous: prev, current: cur)
        #expect(field.columns == 16 && field.rows == 12)
        let blocks = interiorBlocks(field, margin: 12)
        #expect(blocks.count > 40)
        for i in blocks {
            #expect(field.dx[i] == Float(shift.0) && field.dy[i] == Float(shift.1),
                    "block \(i): (\(field.dx[i]), \(field.dy[i]))")
            #expect(field.cost[i] == 0)
        }
        #expect(!field.isStatic(tolerance: 0.5))
    }

    @Test(arguments: [(0.5, 0.0), (1.5, -0.5), (-2.5, 3.0), (0.0, -4.5), (-2.8, 1.1)] as [(Float, Float)])
    func halfPixelShiftIsRefined(shift: (Float, Float)) {
        let prev = texturedFrame(width: 128, height: 96)
        let cur = texturedFrame(width: 128, height: 96, shiftX: shift.0, shiftY: shift.1)
        let field = BlockMatcher(blockSize: 8, searchRadius: 8).estimate(previous: prev, current: cur)
        let blocks = interiorBlocks(field, margin: 5)
        var good = 0
        for i in blocks where abs(field.dx[i] - shift.0) <= 0.2 && abs(field.dy[i] - shift.1) <= 0.2 { good += 1 }
        #expect(Float(good) >= 0.9 * Float(blocks.count), "\(good) of \(blocks.count) blocks within 0.2 px")
        // Median error is small.
        let errors = blocks.map { abs(field.dx[$0] - shift.0) + abs(field.dy[$0] - shift.1) }.sorted()
        #expect(errors[errors.count / 2] <= 0.15)
    }

    @Test func staticFramesGiveExactZeros() {
        let frame = texturedFrame(width: 100, height: 70)  // partial blocks at the edges
        let field = BlockMatcher(blockSize: 8, searchRadius: 16).estimate(previous: frame, current: frame)
        #expect(field.columns == 13 && field.rows == 9)
        #expect(field.dx.allSatisfy { $0 == 0 } && field.dy.allSatisfy { $0 == 0 })
        #expect(field.cost.allSatisfy { $0 == 0 })
        #expect(field.isStatic())
        #expect(field.reliableFraction(maxCost: 0) == 1)

        // A flat frame: every candidate ties, zero wins.
        let flat = GrayImage(width: 64, height: 64, fill: 90)
        #expect(BlockMatcher(blockSize: 8, searchRadius: 8).estimate(previous: flat, current: flat).isStatic())
    }

    @Test func noisyStaticFramesStayNearZero() {
        let frame = texturedFrame(width: 128, height: 96)
        var noisy = frame
        var rng = LCG(99)
        for i in 0..<noisy.pixels.count {
            noisy.pixels[i] = UInt8(max(0, min(255, Int(noisy.pixels[i]) + Int(rng.next() % 7) - 3)))
        }
        let field = BlockMatcher(blockSize: 8, searchRadius: 16).estimate(previous: frame, current: noisy)
        #expect(field.isStatic(tolerance: 0.3))
        let exactZeros = (0..<field.dx.count).filter { field.dx[$0] == 0 && field.dy[$0] == 0 }.count
        #expect(Float(exactZeros) >= 0.8 * Float(field.dx.count), "\(exactZeros) of \(field.dx.count) exact zeros")
        // Noise of +-3 costs about 1.7 grey levels per pixel.
        #expect(field.reliableFraction(maxCost: 3) == 1)
        #expect(field.reliableFraction(maxCost: 0.5) == 0)
    }

    @Test func fastSearchMatchesFullSearchOnGlobalMotion() {
        let (prev, cur) = noiseFrames(width: 96, height: 80, seed: 3) { _, _ in (5, -7) }
        let m = BlockMatcher(blockSize: 8, searchRadius: 12)
        let fast = m.estimate(previous: prev, current: cur)
        let naive = m.estimateFullSearch(previous: prev, current: cur)
        #expect(fast.columns == naive.columns && fast.rows == naive.rows)
        // Where the true match lies inside the frame, both find it; along the top and right edges it
        // does not, and each search settles on some noise match with a high cost.
        for r in 0..<fast.rows {
            for c in 0..<fast.columns {
                let i = r * fast.columns + c
                if r >= 1 && c <= 10 {
                    #expect(fast.dx[i] == 5 && fast.dy[i] == -7 && fast.cost[i] == 0, "fast block \(c),\(r)")
                    #expect(naive.dx[i] == 5 && naive.dy[i] == -7 && naive.cost[i] == 0, "naive block \(c),\(r)")
                } else {
                    #expect(fast.cost[i] > 40 && naive.cost[i] > 40)
                    #expect(fast.cost[i] >= naive.cost[i])  // the full search finds the lowest cost
                }
            }
        }
        #expect(fast.reliableFraction(maxCost: 10) == Float(9 * 11) / Float(fast.dx.count))
    }

    @Test func fastSearchMatchesFullSearchOnMixedMotion() {
        // Left part pans one way, right part the other, a square in the middle moves on its own.
        let (prev, cur) = noiseFrames(width: 112, height: 88, seed: 11) { x, y in
            if x >= 40 && x < 72 && y >= 32 && y < 64 { return (-9, 10) }
            return x < 56 ? (3, 2) : (-6, -4)
        }
        let m = BlockMatcher(blockSize: 8, searchRadius: 12)
        let fast = m.estimate(previous: prev, current: cur)
        let naive = m.estimateFullSearch(previous: prev, current: cur)
        var same = 0
        for i in 0..<fast.dx.count where fast.dx[i] == naive.dx[i] && fast.dy[i] == naive.dy[i]
            && abs(fast.cost[i] - naive.cost[i]) < 1e-4 { same += 1 }
        #expect(Float(same) >= 0.9 * Float(fast.dx.count), "\(same) of \(fast.dx.count) blocks agree")
        // The moving square's inner blocks are found by both.
        let inner = 5 * fast.columns + 6
        #expect(fast.dx[inner] == -9 && fast.dy[inner] == 10)
        #expect(naive.dx[inner] == -9 && naive.dy[inner] == 10)
    }

    @Test func smallRadiusAndEdgeCases() {
        // Radius 0: only zero motion; tiny frames smaller than a block.
        let a = texturedFrame(width: 5, height: 3), b = texturedFrame(width: 5, height: 3, shiftX: 1)
        let f0 = BlockMatcher(blockSize: 8, searchRadius: 0).estimate(previous: a, current: b)
        #expect(f0.columns == 1 && f0.rows == 1 && f0.isStatic() && f0.cost[0] > 0)
        let f1 = BlockMatcher(blockSize: 8, searchRadius: 4).estimate(previous: a, current: b)
        #expect(f1 == BlockMatcher(blockSize: 8, searchRadius: 4).estimateFullSearch(previous: a, current: b))
    }

    // MARK: Motion field

    @Test func cellMotionAveragesBlocks() {
        // 32x16 frame, 8-px blocks: 4x2 blocks, dx = column index.
        var f = MotionField(width: 32, height: 16, blockSize: 8)
        for r in 0..<2 { for c in 0..<4 { f.dx[r * 4 + c] = Float(c); f.dy[r * 4 + c] = Float(r) } }
        let coarse = f.cellMotion(gridColumns: 2, gridRows: 1, pixelsPerCell: 16)
        #expect(coarse.dx == [0.5, 2.5] && coarse.dy == [0.5, 0.5])
        let fine = f.cellMotion(gridColumns: 8, gridRows: 4, pixelsPerCell: 4)
        #expect(fine.dx[0..<8] == [0, 0, 1, 1, 2, 2, 3, 3])
        #expect(fine.dy[8 * 3] == 1)
        // Cells past the frame take the edge blocks.
        let wide = f.cellMotion(gridColumns: 6, gridRows: 1, pixelsPerCell: 8)
        #expect(wide.dx == [0, 1, 2, 3, 3, 3])
    }

    // MARK: Warping

    private static func randomLatents(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = LCG(seed)
        return Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.unit() * 4 - 2 })
    }

    @Test func identityWarpIsExact() {
        let lat = Self.randomLatents([1, 4, 6, 10], seed: 5)
        let zero = MotionField(width: 80, height: 48, blockSize: 8)
        #expect(LatentWarp.warp(lat, field: zero, pixelsPerCell: 8).scalars == lat.scalars)
        // A field with integer whole-cell motion in one corner leaves the rest bit-identical.
        var f = zero
        f.dx[0] = 8
        let out = LatentWarp.warp(lat, field: f, pixelsPerCell: 8).scalars
        let input = lat.scalars
        for ch in 0..<4 {
            #expect(out[ch * 60] == input[ch * 60 + 1])
            for k in 1..<60 { #expect(out[ch * 60 + k] == input[ch * 60 + k]) }
        }
        let mask = Mask(width: 80, height: 48, bits: (0..<(80 * 48)).map { UInt8($0 % 3 == 0 ? 1 : 0) })
        #expect(LatentWarp.warp(mask, field: zero) == mask)
    }

    @Test func oneCellShiftIsRecovered() {
        let c = 4, h = 6, w = 10
        let prev = Self.randomLatents([1, c, h, w], seed: 9)
        // The picture panned right by one cell: current(x) = previous(x - 1), so content at current p was
        // at p - 8 pixels in the previous frame.
        let p = prev.scalars
        var cur = [Float](repeating: 0, count: p.count)
        for ch in 0..<c { for y in 0..<h { for x in 1..<w { cur[(ch * h + y) * w + x] = p[(ch * h + y) * w + x - 1] } } }
        // Field measured with 16-px blocks; latents at 8 px per cell.
        let field = MotionField.uniform(width: w * 8, height: h * 8, blockSize: 16, dx: -8, dy: 0)
        let out = LatentWarp.warp(prev, field: field, pixelsPerCell: 8).scalars
        for ch in 0..<c {
            for y in 0..<h {
                for x in 1..<w { #expect(out[(ch * h + y) * w + x] == cur[(ch * h + y) * w + x]) }
                // Column 0 samples the clamped border.
                #expect(out[(ch * h + y) * w] == p[(ch * h + y) * w])
            }
        }
        // Without warping the previous latents do not line up.
        #expect(prev.scalars != cur)
    }

    @Test func halfCellWarpInterpolates() {
        let prev = Self.randomLatents([1, 2, 4, 5], seed: 2)
        let field = MotionField.uniform(width: 40, height: 32, blockSize: 8, dx: 4, dy: -4)
        let out = LatentWarp.warp(prev, field: field, pixelsPerCell: 8).scalars
        let p = prev.scalars
        // out(x, y) = in(x + 0.5, y - 0.5), for interior cells.
        for ch in 0..<2 {
            for y in 1..<4 {
                for x in 0..<4 {
                    func at(_ xx: Int, _ yy: Int) -> Float { p[(ch * 4 + yy) * 5 + xx] }
                    let want = 0.25 * (at(x, y) + at(x + 1, y) + at(x, y - 1) + at(x + 1, y - 1))
                    #expect(abs(out[(ch * 4 + y) * 5 + x] - want) < 1e-5)
                }
            }
        }
    }

    @Test func maskWarpCarriesRegions() {
        var mask = Mask(width: 40, height: 30)
        for y in 10..<15 { for x in 10..<20 { mask.bits[y * 40 + x] = 1 } }
        // Region moved 3 right, 2 down: content at current p was at p - (3, 2).
        let field = MotionField.uniform(width: 40, height: 30, blockSize: 8, dx: -3, dy: -2)
        let moved = LatentWarp.warp(mask, field: field)
        var want = Mask(width: 40, height: 30)
        for y in 12..<17 { for x in 13..<23 { want.bits[y * 40 + x] = 1 } }
        #expect(moved == want)
        // A mask at half the field's resolution moves by half as many of its pixels.
        var small = Mask(width: 20, height: 15)
        for y in 5..<8 { for x in 5..<10 { small.bits[y * 20 + x] = 1 } }
        let f2 = MotionField.uniform(width: 40, height: 30, blockSize: 8, dx: -4, dy: 0)
        var wantSmall = Mask(width: 20, height: 15)
        for y in 5..<8 { for x in 7..<12 { wantSmall.bits[y * 20 + x] = 1 } }
        #expect(LatentWarp.warp(small, field: f2) == wantSmall)
    }

    // MARK: Mask memory

    @Test func maskMemoryBridgesGapsAndForgets() {
        var region = Mask(width: 16, height: 12)
        for y in 3..<6 { for x in 4..<8 { region.bits[y * 16 + x] = 1 } }
        let empty = Mask(width: 16, height: 12)
        var other = Mask(width: 16, height: 12)
        other.bits[0] = 1

        var one = MaskMemory(frames: 1)
        do { let got = one.cover(region, key: "face", field: nil); #expect(got == region) }
        do { let got = one.cover(empty, key: "face", field: nil); #expect(got == region) } // one missed frame: still covered
        do { let got = one.cover(empty, key: "face", field: nil); #expect(got == empty) } // frames + 1: forgotten
        do { let got = one.cover(other, key: "plate", field: nil); #expect(got == other) } // keys are separate

        var two = MaskMemory(frames: 2)
        _ = two.cover(region, key: "k", field: nil)
        do { let got = two.cover(empty, key: "k", field: nil); #expect(got == region) }
        do { let got = two.cover(other, key: "k", field: nil); #expect(got == region.union(other)) }
        do { let got = two.cover(empty, key: "k", field: nil); #expect(got == other) }
        do { let got = two.cover(empty, key: "k", field: nil); #expect(got == other) }
        do { let got = two.cover(empty, key: "k", field: nil); #expect(got == empty) }

        // Reset forgets; a size change starts afresh.
        _ = two.cover(region, key: "k", field: nil)
        two.reset()
        do { let got = two.cover(empty, key: "k", field: nil); #expect(got == empty) }
        _ = two.cover(region, key: "k", field: nil)
        let bigger = Mask(width: 32, height: 24)
        do { let got = two.cover(bigger, key: "k", field: nil); #expect(got == bigger) }

        var none = MaskMemory(frames: 0)
        _ = none.cover(region, key: "k", field: nil)
        do { let got = none.cover(empty, key: "k", field: nil); #expect(got == empty) }
    }

    @Test func maskMemoryFollowsMotion() {
        var region = Mask(width: 32, height: 16)
        for y in 4..<8 { for x in 4..<8 { region.bits[y * 32 + x] = 1 } }
        var memory = MaskMemory(frames: 2)
        _ = memory.cover(region, key: "person", field: nil)
        // The scene pans: content moves 4 px right each frame (was 4 px left of where it is now).
        let pan = MotionField.uniform(width: 32, height: 16, blockSize: 8, dx: -4, dy: 0)
        let empty = Mask(width: 32, height: 16)
        let first = memory.cover(empty, key: "person", field: pan)
        let second = memory.cover(empty, key: "person", field: pan)
        var want1 = Mask(width: 32, height: 16), want2 = want1
        for y in 4..<8 {
            for x in 8..<12 { want1.bits[y * 32 + x] = 1 }
            for x in 12..<16 { want2.bits[y * 32 + x] = 1 }
        }
        #expect(first == want1)
        #expect(second == want2)
    }

    // MARK: Scene cuts

    /// A colour street-like scene: smooth random brightness and colour blobs over a vertical gradient,
    /// with fine detail.
    private static func scene(seed: UInt64, shiftX: Float = 0, width: Int = 256, height: Int = 144) -> RGBImage {
        let light = ValueNoise(seed: seed, cell: 20), detail = ValueNoise(seed: seed + 1, cell: 3)
        let tint = [ValueNoise(seed: seed + 2, cell: 30), ValueNoise(seed: seed + 3, cell: 30), ValueNoise(seed: seed + 4, cell: 30)]
        var img = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                let px = Float(x) + shiftX, py = Float(y)
                let l = 40 * Float(y) / Float(height) + 150 * light(px, py) + 30 * detail(px, py)
                func ch(_ k: Int) -> UInt8 { UInt8(max(0, min(255, (l + 60 * (tint[k](px, py) - 0.5)).rounded()))) }
                img[x, y] = (ch(0), ch(1), ch(2))
            }
        }
        return img
    }

    private static func thumb(_ img: RGBImage) -> GrayImage { Luma.thumbnail(img, width: 64, height: 36) }

    @Test func sceneCutFiresOnCutsOnly() {
        var detector = SceneCutDetector()
        let a = Self.scene(seed: 100), b = Self.scene(seed: 200)
        do { let got = detector.observe(Self.thumb(a)); #expect(got) } // first frame
        do { let got = detector.observe(Self.thumb(Self.scene(seed: 100, shiftX: 2))); #expect(!got, "pan: \(detector.lastScore)") }
        var noisy = a
        var rng = LCG(5)
        for i in 0..<noisy.pixels.count {
            noisy.pixels[i] = UInt8(max(0, min(255, Int(noisy.pixels[i]) + Int(rng.next() % 7) - 3)))
        }
        do { let got = detector.observe(Self.thumb(noisy)); #expect(!got, "noise: \(detector.lastScore)") }
        do { let got = detector.observe(Self.thumb(b)); #expect(got, "cut: \(detector.lastScore)") }
        do { let got = detector.observe(Self.thumb(b)); #expect(!got) }
        #expect(detector.lastScore == 0)
        // A cut to a much darker scene.
        var dark = a
        for i in 0..<dark.pixels.count { dark.pixels[i] /= 3 }
        do { let got = detector.observe(Self.thumb(dark)); #expect(got, "dark cut: \(detector.lastScore)") }
        // A thumbnail size change, and reset, count as new scenes.
        do { let got = detector.observe(Luma.thumbnail(dark, width: 32, height: 18)); #expect(got) }
        detector.reset()
        do { let got = detector.observe(Luma.thumbnail(dark, width: 32, height: 18)); #expect(got) }
    }

    @Test func sceneCutScoresSeparate() {
        // The cut scores stay well above the threshold and the pan / noise scores well below.
        let a = Self.thumb(Self.scene(seed: 300)), b = Self.thumb(Self.scene(seed: 400))
        let pan = Self.thumb(Self.scene(seed: 300, shiftX: -2))
        func score(_ x: GrayImage, _ y: GrayImage) -> Float {
            SceneCutDetector.histogramDistance(x, y) + SceneCutDetector.shiftedDifference(x, y, maxShift: 2)
        }
        let threshold = SceneCutDetector().threshold
        #expect(score(a, a) == 0)
        #expect(score(a, pan) < threshold / 2, "pan \(score(a, pan))")
        #expect(score(a, b) > threshold * 1.5, "cut \(score(a, b))")
    }

    // MARK: Keyframes

    @Test func keyframeSchedule() {
        var s = KeyframeSchedule(interval: 3)
        let keys = (0..<10).map { s.isKeyframe(frameIndex: $0, sceneCut: $0 == 4) }
        #expect(keys == [true, false, false, true, true, false, false, true, false, false])

        var cutsOnly = KeyframeSchedule(interval: 0)
        let k0 = (0..<8).map { cutsOnly.isKeyframe(frameIndex: $0, sceneCut: $0 == 5) }
        #expect(k0 == [true, false, false, false, false, true, false, false])

        var every = KeyframeSchedule(interval: 1)
        #expect((0..<4).allSatisfy { every.isKeyframe(frameIndex: $0, sceneCut: false) })

        // Skipped frame indices still count by index; a seek backwards starts afresh.
        var gaps = KeyframeSchedule(interval: 5)
        do { let got = gaps.isKeyframe(frameIndex: 10, sceneCut: false); #expect(got) }
        do { let got = gaps.isKeyframe(frameIndex: 14, sceneCut: false); #expect(!got) }
        do { let got = gaps.isKeyframe(frameIndex: 15, sceneCut: false); #expect(got) }
        do { let got = gaps.isKeyframe(frameIndex: 2, sceneCut: false); #expect(got) }
        #expect(gaps.lastKeyframe == 2)
    }
}

