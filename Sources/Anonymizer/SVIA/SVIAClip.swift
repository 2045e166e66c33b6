import Foundation
import MediaIO
import TensorCore

/// What the frames of one video share so that the diffusion output does not flicker:
/// - the same noise for every frame (the painter seeds every frame alike);
/// - an anchor: the latents of the last keyframe's composite, carried along with the scene's motion (block
///   matching between consecutive frames), from which every frame is refined by a short pass;
/// - a mask memory, so that a region the segmenter misses for a frame or two stays covered;
/// - the keyframe decision: scene cuts, every `keyframeInterval` frames, or when too much of the regions is
///   new content the anchor cannot explain.
public struct SVIAClip: Sendable {
    public private(set) var frameIndex = 0
    /// Scaled latents of the last keyframe's composite, moved with the scene up to the previous frame.
    var anchor: Tensor?
    /// Working-size cells where the anchor holds painted content, moved like the anchor.
    var anchorMask: Mask?
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

    /// Takes in the frame at the working size: scene cut and motion since the previous frame.
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
    }

    /// Regions with the ones seen in the last few frames added.
    mutating func remembered(_ regions: CategoryRegions) -> CategoryRegions {
        regions.map { ($0.category, memory.cover($0.mask, key: $0.category.rawValue, field: nil)) }
    }

    /// The anchor moved to this frame, or nil when this frame must be a keyframe.
    mutating func carriedLatents(mask: Mask, settings: SVIASettings, cell: Int) -> Tensor? {
        let due = schedule.isKeyframe(frameIndex: frameIndex, sceneCut: sceneCut || anchor == nil)
        guard !due, var latents = anchor, var painted = anchorMask, let field else { return nil }
        latents = LatentWarp.warp(latents, field: field, pixelsPerCell: cell)
        painted = LatentWarp.warp(painted, field: field)
        // Share of this frame's regions that the carried latents do not explain: not painted at the keyframe,
        // or where the motion estimate is unreliable (occlusions, new objects).
        var total = 0, unexplained = 0
        for y in 0..<mask.height {
            let by = min(field.rows - 1, y / field.blockSize)
            for x in 0..<mask.width where mask.bits[y * mask.width + x] != 0 {
                total += 1
                let bx = min(field.columns - 1, x / field.blockSize)
                if painted.bits[y * mask.width + x] == 0 || field.cost[by * field.columns + bx] > Self.unreliableCost {
                    unexplained += 1
                }
            }
        }
        if total > 0 && Double(unexplained) / Double(total) > settings.maxUncoveredShare {
            _ = schedule.isKeyframe(frameIndex: frameIndex, sceneCut: true)
            return nil
        }
        anchor = latents
        anchorMask = painted
        return latents
    }

    mutating func startAnchor(_ latents: Tensor, mask: Mask) {
        anchor = latents
        anchorMask = mask
    }

    mutating func finishFrame() {
        frameIndex += 1
    }
}
