import Foundation
import MediaIO
import TensorCore

/// What the frames of one video share, so that the diffusion output neither flickers nor carries anything of the
/// original picture into a region: paint once, move it with the scene, repaint only what is new.
/// - The anchor: the working-size picture of the last frame that was painted (a keyframe, or a frame where new
///   region content was painted), of which only the pixels inside `anchorPainted` (painted content, never
///   original pixels) are ever used.
/// - The motion since the anchor, composed frame by frame from block matching between consecutive frames, so
///   that a carried pixel is resampled once from the anchor however many frames it travelled, with a
///   reliability that is lost for good once any step of the chain is unreliable.
/// - A mask memory moved with the motion, so a region the segmenter misses for a frame or two stays covered
///   where the object went.
/// - The keyframe decision: scene cuts, every `keyframeInterval` frames, or when one category's region is
///   mostly new content.
/// Region cells the anchor does not explain (not painted there, entering the frame, or where the motion is
/// unreliable) are painted afresh from noise: a person found after the keyframe never keeps their look.
public struct SVIAClip: Sendable {
    public private(set) var frameIndex = 0
    var anchor: RGBImage?
    var anchorPainted: Mask?
    /// Per working pixel: where its content was in the anchor, relative to the pixel (composed motion).
    var sinceAnchorX: [Float] = []
    var sinceAnchorY: [Float] = []
    /// Per working pixel: whether every step of the motion chain back to the anchor was reliable and in frame.
    var reliable: Mask?
    /// Working-size luma of the previous frame.
    var previous: GrayImage?
    var field: MotionField?
    var sceneCut = false
    var cuts = SceneCutDetector()
    var schedule: KeyframeSchedule
    var memory: MaskMemory
    let matcher = BlockMatcher(blockSize: 8, searchRadius: 16)
    /// Mean absolute difference (0–255) above which a block's motion is not trusted.
    static let unreliableCost: Float = 24

    public init(settings: SVIASettings) {
        schedule = KeyframeSchedule(interval: settings.keyframeInterval)
        memory = MaskMemory(frames: settings.maskMemory)
    }

    /// Takes in the frame at the working size: scene cut, motion since the previous frame, and that motion
    /// composed onto the motion since the anchor.
    mutating func observe(_ work: RGBImage) {
        let luma = Luma.thumbnail(work, width: work.width, height: work.height)
        sceneCut = cuts.observe(Luma.thumbnail(work, width: 64, height: 32))
        if sceneCut {
            memory.reset()
            field = nil
        } else if let previous, previous.width == luma.width, previous.height == luma.height {
            field = matcher.estimate(previous: previous, current: luma)
        } else {
            field = nil
        }
        previous = luma
        if let field, let old = reliable, old.width == work.width, old.height == work.height {
            compose(field, width: work.width, height: work.height, previouslyReliable: old)
        } else {
            reliable = nil
        }
    }

    /// D_t(p) = d_t(p) + D_{t-1}(p + d_t(p)), nearest sampling; a pixel whose source lies outside the previous
    /// frame, or whose block match is unreliable, is unreliable from now on.
    private mutating func compose(_ field: MotionField, width w: Int, height h: Int, previouslyReliable old: Mask) {
        var nx = [Float](repeating: 0, count: w * h), ny = nx
        var now = Mask(width: w, height: h)
        for y in 0..<h {
            for x in 0..<w {
                let k = y * w + x
                let m = field.motion(atX: x, y: y)
                let sx = Int((Float(x) + m.dx).rounded()), sy = Int((Float(y) + m.dy).rounded())
                let block = min(field.rows - 1, y / field.blockSize) * field.columns + min(field.columns - 1, x / field.blockSize)
                guard sx >= 0, sx < w, sy >= 0, sy < h, field.cost[block] <= Self.unreliableCost else { continue }
                let s = sy * w + sx
                nx[k] = m.dx + sinceAnchorX[s]
                ny[k] = m.dy + sinceAnchorY[s]
                now.bits[k] = old.bits[s]
            }
        }
        sinceAnchorX = nx
        sinceAnchorY = ny
        reliable = now
    }

    /// Regions with the ones seen in the last few frames added, moved along the motion since.
    mutating func remembered(_ regions: CategoryRegions) -> CategoryRegions {
        regions.map { ($0.category, memory.cover($0.mask, key: $0.category.rawValue, field: field)) }
    }

    /// What a frame between keyframes starts from: the frame with the anchor's painted content moved into the
    /// region cells it explains, and the region cells it does not (to be painted from fresh noise).
    struct Carried {
        var picture: RGBImage
        var fresh: Mask
    }

    /// The anchor moved to this frame, or nil when this frame must be a keyframe. `union` and each pass's mask
    /// are working-size regions aligned to whole latent cells of `cell` pixels.
    mutating func carry(_ work: RGBImage, union: Mask, passes: [(key: String, mask: Mask)], settings: SVIASettings,
                        cell: Int) -> Carried? {
        let due = schedule.isKeyframe(frameIndex: frameIndex, sceneCut: sceneCut || anchor == nil || reliable == nil)
        guard !due, let anchor, let anchorPainted, let reliable,
              anchor.width == work.width, anchor.height == work.height else { return nil }
        let w = work.width, h = work.height
        // Per pixel: its source in the anchor, if it holds painted content reached by a reliable chain.
        var source = [Int](repeating: -1, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let k = y * w + x
                guard union.bits[k] != 0, reliable.bits[k] != 0 else { continue }
                let sx = Int((Float(x) + sinceAnchorX[k]).rounded()), sy = Int((Float(y) + sinceAnchorY[k]).rounded())
                guard sx >= 0, sx < w, sy >= 0, sy < h, anchorPainted.bits[sy * w + sx] != 0 else { continue }
                source[k] = sy * w + sx
            }
        }
        let fresh = Self.unexplainedCells(union: union, explained: { source[$0] >= 0 }, cell: cell)
        // A category whose region is mostly new content (a new object, a large disocclusion) gets a full pass.
        for p in passes where !p.mask.isEmpty {
            let new = zip(p.mask.bits, fresh.bits).reduce(0) { $0 + Int($1.0 & $1.1) }
            if Double(new) / Double(p.mask.area) > settings.maxUncoveredShare {
                _ = schedule.isKeyframe(frameIndex: frameIndex, sceneCut: true)
                return nil
            }
        }
        var picture = work
        for k in 0..<(w * h) where fresh.bits[k] == 0 && source[k] >= 0 {
            let s = 3 * source[k]
            picture.pixels[3 * k] = anchor.pixels[s]
            picture.pixels[3 * k + 1] = anchor.pixels[s + 1]
            picture.pixels[3 * k + 2] = anchor.pixels[s + 2]
        }
        return Carried(picture: picture, fresh: fresh)
    }

    /// The cells of `union` holding any pixel that is not explained. Whole cells, so that what is painted afresh
    /// is never bordered inside its latent cell by content of another origin.
    static func unexplainedCells(union: Mask, explained: (Int) -> Bool, cell c: Int) -> Mask {
        let w = union.width, h = union.height
        var fresh = Mask(width: w, height: h)
        for cy in stride(from: 0, to: h, by: c) {
            for cx in stride(from: 0, to: w, by: c) {
                var unexplained = false
                for y in cy..<min(h, cy + c) where !unexplained {
                    for x in cx..<min(w, cx + c) where union.bits[y * w + x] != 0 && !explained(y * w + x) {
                        unexplained = true
                        break
                    }
                }
                guard unexplained else { continue }
                for y in cy..<min(h, cy + c) {
                    for x in cx..<min(w, cx + c) where union.bits[y * w + x] != 0 { fresh.bits[y * w + x] = 1 }
                }
            }
        }
        return fresh
    }

    /// This frame's painted working-size picture (original outside `painted`) becomes the anchor.
    mutating func startAnchor(_ picture: RGBImage, painted: Mask) {
        anchor = picture
        anchorPainted = painted
        sinceAnchorX = [Float](repeating: 0, count: picture.width * picture.height)
        sinceAnchorY = sinceAnchorX
        reliable = Mask(width: picture.width, height: picture.height, bits: [UInt8](repeating: 1, count: picture.width * picture.height))
    }

    mutating func finishFrame() {
        frameIndex += 1
    }
}
