import CFFmpeg
import Foundation

/// A part of a video, by presentation timestamps in the video stream's time base.
public struct FrameRange: Sendable, Equatable {
    /// First frame written; decoding starts at the keyframe at or before it.
    public var startPts: Int64
    /// First frame not written (nil: to the end).
    public var endPts: Int64?
    /// Frames from here up to `startPts` are passed through the transform but not written (temporal
    /// state warms up on them); nil: none.
    public var warmupFromPts: Int64?
    /// Index (in the whole video) of the first frame passed to the transform.
    public var firstIndex: Int
    /// False when the range starts at the video's first frame: no seek is needed.
    public var seeks: Bool

    public init(startPts: Int64, endPts: Int64?, warmupFromPts: Int64? = nil, firstIndex: Int, seeks: Bool) {
        self.startPts = startPts
        self.endPts = endPts
        self.warmupFromPts = warmupFromPts
        self.firstIndex = firstIndex
        self.seeks = seeks
    }
}

extension VideoTranscoder {
    /// Encoder options for a segment that is later joined to its neighbours by stream copy: the encoder
    /// starts every segment with an IDR picture and keeps its pictures' references inside the segment
    /// (closed GOP), so the joined stream decodes exactly as the segments do.
    public static func segmentOptions(_ options: EncodeOptions) -> EncodeOptions {
        var o = options
        o.audio = .drop
        o.keepMetadata = false
        switch o.codec {
        case .h264: o.codecOptions["x264-params"] = "open-gop=0"
        case .hevc: o.codecOptions["x265-params"] = "log-level=error:open-gop=0"
        case .mpeg4: break
        }
        return o
    }

    /// Transcodes the frames of `range` into `output` (video only), for a segment of a longer job. The
    /// segment's timestamps are the source's less `range.startPts`, so it starts at 0: an MP4 or MOV edit
    /// list would hold a later start only to the millisecond. `SegmentJoiner` adds the offset back. `transform` gets each frame (its `index` counted in the whole video) and
    /// whether it is written; warm-up frames are transformed but not written. The output appears only
    /// when complete.
    public static func runRange(input: String, output: String, range: FrameRange, options: EncodeOptions = EncodeOptions(),
                                progress: ((Int, Int?) -> Void)? = nil,
                                transform: (VideoFrame, Bool) throws -> RGBImage) throws -> TranscodeReport {
        let started = Date()
        let from = range.warmupFromPts.map { min($0, range.startPts) } ?? range.startPts
        var reader = try VideoReader(path: input, keyframesOnly: false, threads: options.threads)
        var first: VideoFrame? = nil
        if range.seeks {
            try reader.seek(toPts: from)
            first = try reader.nextFrame()
            // A container whose seek lands past the point (imprecise index) is read from its start.
            if let f = first, f.pts > from {
                reader = try VideoReader(path: input, keyframesOnly: false, threads: options.threads)
                first = nil
            }
        }
        var writer: VideoWriter? = nil
        var index = range.firstIndex
        var written = 0
        var next: VideoFrame? = first
        if next == nil { next = try reader.nextFrame() }
        while var frame = next {
            next = nil
            if frame.pts >= from {
                if let end = range.endPts, frame.pts >= end { break }
                let write = frame.pts >= range.startPts
                frame.index = index
                index += 1
                let image = try transform(frame, write)
                if write {
                    if writer == nil {
                        writer = try VideoWriter(path: output, width: image.width, height: image.height,
                                                 timeBase: reader.info.timeBase, frameRate: reader.info.frameRate,
                                                 color: reader.color, options: segmentOptions(options), inputs: [input])
                    }
                    try writer!.write(image, pts: frame.pts - range.startPts, duration: frame.duration)
                    written += 1
                    progress?(written, nil)
                }
            }
            next = try reader.nextFrame()
        }
        guard let writer else { throw MediaError.noFrames(path: input) }
        try writer.finish()
        return TranscodeReport(frames: written, expectedFrames: nil, truncated: false, decodeErrors: reader.decodeErrors,
                               droppedStreams: [], strippedTags: [], audio: "none",
                               seconds: Date().timeIntervalSince(started))
    }
}
