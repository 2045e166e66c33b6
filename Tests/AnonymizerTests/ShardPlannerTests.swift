@testable import Anonymizer
import Foundation
import MediaIO
import Testing

@Suite struct ShardPlannerTests {
    /// 100 frames at 10 fps, a codec keyframe every 10 frames.
    let timeline = VideoTimeline(timeBase: Rational(num: 1, den: 10), width: 64, height: 48, frameRate: 10,
                                 pts: Array(0..<100).map(Int64.init), keyframes: Array(stride(from: 0, to: 100, by: 10)))

    @Test func cutsAtTheKeyframeNearestEachEqualShare() {
        // Ideal cuts 25, 50, 75: ties go to the earlier keyframe.
        #expect(ShardPlanner.boundaries(timeline, pieces: 4, interval: nil) == [0, 20, 50, 70])
        #expect(ShardPlanner.boundaries(timeline, pieces: 1, interval: nil) == [0])
        // More pieces than keyframes: one range per keyframe at most.
        #expect(ShardPlanner.boundaries(timeline, pieces: 50, interval: nil) == Array(stride(from: 0, to: 100, by: 10)))
    }

    @Test func sviaCutsOnlyWhereItsKeyframeScheduleAndTheCodecAgree() {
        #expect(ShardPlanner.boundaries(timeline, pieces: 4, interval: 25) == [0, 50])
        #expect(ShardPlanner.boundaries(timeline, pieces: 4, interval: 0) == [0, 20, 50, 70])
        #expect(ShardPlanner.boundaries(timeline, pieces: 4, interval: 7) == [0, 70])
    }

    @Test func longestSegmentAndPartOfAVideo() {
        // At most 3 s: cuts at the last keyframe within reach.
        #expect(ShardPlanner.boundaries(timeline, pieces: 1, interval: nil, maxSeconds: 3) == [0, 30, 60, 90])
        // A part that starts between keyframes starts where it starts.
        #expect(ShardPlanner.boundaries(timeline, pieces: 1, interval: nil, maxSeconds: 2, within: 15..<55) == [15, 30, 50])
    }

    @Test func fingerprintIsStableAndSensitive() {
        #expect(SegmentStore.fingerprint(["a", "b"]) == SegmentStore.fingerprint(["a", "b"]))
        #expect(SegmentStore.fingerprint(["a", "b"]) != SegmentStore.fingerprint(["ab"]))
        #expect(SegmentStore.fingerprint([]) == "cbf29ce484222325")
    }
}
