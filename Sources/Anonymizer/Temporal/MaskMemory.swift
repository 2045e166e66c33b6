/// Keeps recent masks per region kind so a region the detector misses for a few frames stays covered.
///
/// `cover` returns the union of the given mask and the masks of the last `frames` calls for the same
/// key; with a motion field, the remembered masks are first carried along the motion (and kept that way
/// for later frames). A mask of a different size than the remembered ones starts that key afresh.
/// Call `reset()` on scene cuts: masks from another scene mean nothing.
public struct MaskMemory: Sendable {
    public let frames: Int
    private var history: [String: [Mask]] = [:]

    public init(frames: Int) {
        precondition(frames >= 0, "MaskMemory: negative frame count \(frames)")
        self.frames = frames
    }

    public mutating func cover(_ mask: Mask, key: String, field: MotionField?) -> Mask {
        var past = history[key] ?? []
        if let first = past.first, first.width != mask.width || first.height != mask.height { past = [] }
        if let field { past = past.map { LatentWarp.warp($0, field: field) } }
        var covered = mask
        for old in past { covered = covered.union(old) }
        if frames > 0 {
            past.append(mask)
            if past.count > frames { past.removeFirst(past.count - frames) }
        } else {
            past = []
        }
        history[key] = past
        return covered
    }

    /// Forgets every key.
    public mutating func reset() { history.removeAll() }

    /// Forgets one key.
    public mutating func reset(key: String) { history[key] = nil }
}
