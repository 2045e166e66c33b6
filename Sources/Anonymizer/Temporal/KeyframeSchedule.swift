/// Decides which frames get a full (fresh) diffusion pass and which ones reuse warped state from the
/// previous frames: the first frame, every scene cut, and every `interval` frames since the last
/// keyframe (0: only first frame and cuts).
public struct KeyframeSchedule: Sendable {
    public let interval: Int
    public private(set) var lastKeyframe: Int?

    public init(interval: Int) {
        precondition(interval >= 0, "KeyframeSchedule: negative interval \(interval)")
        self.interval = interval
    }

    /// Whether `frameIndex` is a keyframe; records it as the last keyframe if so. A frame index before
    /// the last keyframe (a seek backwards) also starts afresh.
    public mutating func isKeyframe(frameIndex: Int, sceneCut: Bool) -> Bool {
        let key: Bool
        if sceneCut { key = true }
        else if let last = lastKeyframe {
            key = frameIndex < last || (interval > 0 && frameIndex - last >= interval)
        } else {
            key = true
        }
        if key { lastKeyframe = frameIndex }
        return key
    }

    public mutating func reset() { lastKeyframe = nil }
}
