import CFFmpeg

/// An owned `AVFrame`, freed in `deinit`.
final class Frame {
    var ptr: UnsafeMutablePointer<AVFrame>?

    init() throws {
        guard let f = av_frame_alloc() else { throw FFmpegError(code: svia_averror(ENOMEM), operation: "allocate frame") }
        ptr = f
    }

    /// A frame with its own buffers for the given picture.
    convenience init(width: Int, height: Int, format: AVPixelFormat) throws {
        try self.init()
        f.pointee.width = Int32(width)
        f.pointee.height = Int32(height)
        f.pointee.format = format.rawValue
        try check(av_frame_get_buffer(f, 0), "allocate picture buffer")
    }

    var f: UnsafeMutablePointer<AVFrame> { ptr! }

    deinit { av_frame_free(&ptr) }

    /// Copies a packed RGB24 (or GRAY8, `channels` 1) frame into tightly packed rows.
    func packedBytes(channels: Int) -> [UInt8] {
        let w = Int(f.pointee.width), h = Int(f.pointee.height)
        let row = w * channels, stride = Int(f.pointee.linesize.0)
        let base = f.pointee.data.0!
        return [UInt8](unsafeUninitializedCapacity: row * h) { buf, count in
            for y in 0..<h { (buf.baseAddress! + y * row).update(from: base + y * stride, count: row) }
            count = row * h
        }
    }

    /// Fills this frame's first plane from tightly packed rows.
    func setPackedBytes(_ bytes: [UInt8], channels: Int) throws {
        try check(av_frame_make_writable(f), "make frame writable")
        let w = Int(f.pointee.width), h = Int(f.pointee.height)
        let row = w * channels, stride = Int(f.pointee.linesize.0)
        let base = f.pointee.data.0!
        bytes.withUnsafeBufferPointer { src in
            for y in 0..<h { (base + y * stride).update(from: src.baseAddress! + y * row, count: row) }
        }
    }
}

/// An owned `AVPacket`, freed in `deinit`.
final class Packet {
    var ptr: UnsafeMutablePointer<AVPacket>?
    init() throws {
        guard let p = av_packet_alloc() else { throw FFmpegError(code: svia_averror(ENOMEM), operation: "allocate packet") }
        ptr = p
    }
    var p: UnsafeMutablePointer<AVPacket> { ptr! }
    deinit { av_packet_free(&ptr) }
}

/// An owned codec context (`AVCodecContext`), freed in `deinit`.
final class CodecContext {
    var ctx: UnsafeMutablePointer<AVCodecContext>?
    init() {}
    deinit { avcodec_free_context(&ctx) }
}

/// An owned output context (`AVFormatContext`) and its file handle, closed and freed in `deinit`.
final class Muxer {
    var ctx: UnsafeMutablePointer<AVFormatContext>?
    var ioOpen = false
    init() {}

    func closeIO() {
        if ioOpen, let c = ctx { avio_closep(&c.pointee.pb) }
        ioOpen = false
    }

    deinit {
        closeIO()
        avformat_free_context(ctx)
    }
}
