import CFFmpeg
import Foundation

/// An opened, probed input (`AVFormatContext`), restricted to the container and image demuxers svia
/// trusts. Owns the context and closes it in `deinit`.
final class InputFile {
    let path: String
    private var context: UnsafeMutablePointer<AVFormatContext>?

    /// Demuxers accepted as probed. Auto-probing otherwise takes almost any bytes as *some* format
    /// (bintext, tty, raw audio), which turns a corrupt file into a nonsense "video".
    static let allowedDemuxers: Set<String> = [
        "mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "avi", "mpegts", "flv", "mpeg",
        "h264", "hevc", "m4v", "asf", "ivf", "image2", "png_pipe", "jpeg_pipe", "mjpeg",
    ]

    init(path: String) throws {
        FFmpegLog.ensureConfigured()
        self.path = path
        try InputFile.preflight(path)
        var ctx: UnsafeMutablePointer<AVFormatContext>?
        var opts: OpaquePointer? = nil
        defer { av_dict_free(&opts) }
        // A '%' in a file name is not an image-sequence pattern.
        av_dict_set(&opts, "pattern_type", "none", 0)
        // Only plain files: a name such as `concat:a.mp4|b.mp4` or `subfile,,start,…` is a file name, not a
        // protocol, and a demuxer may not open other URLs (HLS playlists, image2 sequences) on its own.
        av_dict_set(&opts, "protocol_whitelist", "file", 0)
        av_dict_set(&opts, "format_whitelist", InputFile.allowedDemuxers.sorted().joined(separator: ","), 0)
        let r = avformat_open_input(&ctx, InputFile.fileURL(path), nil, &opts)
        if r < 0 {
            if r == svia_averror(EINVAL) {
                throw MediaError.unrecognizedFormat(path: path, detail: "not a container or image format svia reads")
            }
            throw InputFile.openError(path: path, code: r)
        }
        context = ctx
        let name = String(cString: ctx!.pointee.iformat.pointee.name)
        guard name.split(separator: ",").contains(where: { InputFile.allowedDemuxers.contains(String($0)) }) else {
            throw MediaError.unrecognizedFormat(path: path, detail: "content detected as \(name)")
        }
        // Probing may decode a picture: decoders refuse one over the limit before allocating it.
        let n = Int(ctx!.pointee.nb_streams)
        var streamOptions = [OpaquePointer?](repeating: nil, count: max(1, n))
        for i in 0..<n { av_dict_set(&streamOptions[i], "max_pixels", String(MediaLimits.maxPixels), 0) }
        defer { for i in 0..<n { av_dict_free(&streamOptions[i]) } }
        let s = streamOptions.withUnsafeMutableBufferPointer { avformat_find_stream_info(ctx, $0.baseAddress) }
        if s < 0 { throw InputFile.openError(path: path, code: s) }
    }

    /// The path as a `file:` URL, so that FFmpeg never reads a protocol name from it.
    static func fileURL(_ path: String) -> String { "file:" + path }

    deinit { avformat_close_input(&context) }

    var ctx: UnsafeMutablePointer<AVFormatContext> { context! }
    var formatName: String { String(cString: ctx.pointee.iformat.pointee.name) }
    var streamCount: Int { Int(ctx.pointee.nb_streams) }
    func stream(_ i: Int) -> UnsafeMutablePointer<AVStream> { ctx.pointee.streams[i]! }

    /// The best video stream and its decoder, with its size checked against `MediaLimits`.
    func videoStream() throws -> (index: Int, codec: UnsafePointer<AVCodec>) {
        var codec: UnsafePointer<AVCodec>?
        let idx = av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0)
        if idx < 0 {
            if idx == svia_averror_decoder_not_found() {
                throw MediaError.unrecognizedFormat(path: path, detail: "no decoder for the video codec")
            }
            throw MediaError.noVideoStream(path: path)
        }
        let par = stream(Int(idx)).pointee.codecpar!
        try MediaLimits.check(width: Int(par.pointee.width), height: Int(par.pointee.height), path: path)
        guard let codec else { throw MediaError.unrecognizedFormat(path: path, detail: "no decoder for the video codec") }
        return (Int(idx), codec)
    }

    /// Fails early with a named, typed error for paths FFmpeg would only call "invalid".
    static func preflight(_ path: String) throws {
        var st = stat()
        if stat(path, &st) != 0 { throw MediaError.fileNotFound(path: path) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw MediaError.isDirectory(path: path) }
        if st.st_size == 0 && (st.st_mode & S_IFMT) == S_IFREG { throw MediaError.emptyFile(path: path) }
    }

    static func openError(path: String, code: Int32) -> Error {
        if code == -ENOENT { return MediaError.fileNotFound(path: path) }
        if code == -EISDIR { return MediaError.isDirectory(path: path) }
        if isMP4WithoutIndex(path) { return MediaError.missingIndex(path: path) }
        if code == FFmpegError.invalidData || code == svia_averror_stream_not_found() {
            return MediaError.unrecognizedFormat(path: path, detail: FFmpegError.message(for: code))
        }
        return FFmpegError(code: code, operation: "open input", path: path)
    }

    /// Walks the top-level ISO-BMFF boxes: an `ftyp` with no `moov` is a recording cut off before its
    /// index was written (power loss in a dashcam).
    static func isMP4WithoutIndex(_ path: String) -> Bool {
        guard let fh = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? fh.close() }
        let end = (try? fh.seekToEnd()) ?? 0
        var offset: UInt64 = 0
        var types: [String] = []
        while offset + 8 <= end, types.count < 10_000 {
            try? fh.seek(toOffset: offset)
            guard let h = try? fh.read(upToCount: 16), h.count >= 8 else { break }
            let b = [UInt8](h)
            var size = UInt64(b[0]) << 24 | UInt64(b[1]) << 16 | UInt64(b[2]) << 8 | UInt64(b[3])
            let type = String(decoding: b[4..<8], as: UTF8.self)
            if types.isEmpty && type != "ftyp" { return false }
            types.append(type)
            if size == 1 {
                guard b.count >= 16 else { break }
                size = b[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            } else if size == 0 {
                break
            }
            if size < 8 { break }
            offset += size
        }
        return types.first == "ftyp" && !types.contains("moov")
    }
}
