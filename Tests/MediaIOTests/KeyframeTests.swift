import Foundation
import Testing
@testable import MediaIO

@Suite struct KeyframeTests {
    @Test func codecKeyframes() throws {
        let dir = try TestDir()
        let input = try dir.clip("in.mp4", seconds: 1.2, extra: [
            "-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "keyint=10:min-keyint=10:scenecut=0"])
        var seconds: [Double] = []
        let n = try Keyframes.extract(path: input, selection: .codec) { seconds.append($0.seconds); #expect($0.isKeyframe) }
        #expect(n == 3)
        #expect(zip(seconds, [0, 0.4, 0.8]).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test func everyNSeconds() throws {
        let dir = try TestDir()
        let input = try dir.clip("in.mp4", seconds: 1.2)
        var frames: [VideoFrame] = []
        let n = try Keyframes.extract(path: input, selection: .every(seconds: 0.5)) { frames.append($0) }
        #expect(n == 3)
        #expect(frames.map(\.index) == [0, 13, 25] || frames.map(\.index) == [0, 12, 25])
    }

    @Test func sceneChanges() throws {
        let dir = try TestDir()
        let input = try dir.ffmpeg([
            "-f", "lavfi", "-i", "color=c=red:s=96x64:r=25:d=0.4", "-f", "lavfi", "-i", "color=c=blue:s=96x64:r=25:d=0.4",
            "-f", "lavfi", "-i", "testsrc2=s=96x64:r=25:d=0.4",
            "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1[v]", "-map", "[v]",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", dir.file("scenes.mp4")])
        var indices: [Int] = []
        let n = try Keyframes.extract(path: input, selection: .sceneChange(threshold: 0.1)) { indices.append($0.index) }
        #expect(n == 3)
        #expect(indices == [0, 10, 20])
    }

    /// A jump of years in the timestamps must not walk there one step at a time.
    @Test func nextSampleTimeAfterLargeJump() {
        #expect(Keyframes.nextSampleTime(after: 0.04, from: 0.5, step: 0.5) == 0.5)
        #expect(abs(Keyframes.nextSampleTime(after: 0.5, from: 0.5, step: 0.5) - 1.0) < 1e-12)
        #expect(abs(Keyframes.nextSampleTime(after: 1.2, from: 0.5, step: 0.5) - 1.5) < 1e-12)
        let far = 1e9 + 0.3
        let n = Keyframes.nextSampleTime(after: far, from: 0.5, step: 0.5)
        #expect(n > far && n <= far + 0.5 + 1e-6)
        let huge = 9.2e18
        #expect(Keyframes.nextSampleTime(after: huge, from: 0.5, step: 1e-9) > huge)
        #expect(Keyframes.nextSampleTime(after: .infinity, from: 0.5, step: 1) == .infinity)
    }

    @Test func timestampNameOfExtremeTimes() {
        #expect(Keyframes.timestampName(3723.5) == "01-02-03.500")
        #expect(Keyframes.timestampName(.nan) == "00-00-00.000")
        #expect(!Keyframes.timestampName(1e300).isEmpty)
        #expect(!Keyframes.timestampName(Double(Int64.max)).isEmpty)
    }
}
