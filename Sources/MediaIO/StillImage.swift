import CFFmpeg
import Foundation

/// PNG and JPEG pictures read and written through FFmpeg; the format follows the extension
/// (case-insensitive). Written files carry no metadata: re-encoding leaves EXIF and GPS behind.
public enum StillImage {
    enum Format { case png, jpeg }

    static func format(of path: String) throws -> Format {
        switch fileExtension(path) {
        case "png": return .png
        case "jpg", "jpeg": return .jpeg
        default: throw MediaError.unsupportedExtension(path: path)
        }
    }

    /// The picture upright: a JPEG's EXIF orientation (a phone held upright or mirrored) is applied, as a
    /// video's display matrix is; the written output then needs no orientation tag.
    public static func read(path: String) throws -> RGBImage {
        let header = try headerBytes(path)
        let (bytes, w, h) = try decode(path: path, to: AV_PIX_FMT_RGB24, header: header)
        let image = RGBImage(width: w, height: h, pixels: bytes)
        return image.oriented(exif: ExifScanner.scan(jpeg: header)?.orientation ?? 1)
    }

    /// An 8-bit single-channel picture (label map, mask); colour files are converted to luma.
    public static func readGray(path: String) throws -> GrayImage {
        let (bytes, w, h) = try decode(path: path, to: AV_PIX_FMT_GRAY8, header: try headerBytes(path))
        return GrayImage(width: w, height: h, pixels: bytes)
    }

    /// Writes PNG (lossless) or JPEG; `jpegQuality` is the JPEG quantiser scale, 2 (best) to 31.
    public static func write(_ image: RGBImage, to path: String, jpegQuality: Int = 2) throws {
        let fmt = try format(of: path)
        let src = try Frame(width: image.width, height: image.height, format: AV_PIX_FMT_RGB24)
        try src.setPackedBytes(image.pixels, channels: 3)
        switch fmt {
        case .png:
            try encode(src, codecID: AV_CODEC_ID_PNG, pixelFormat: AV_PIX_FMT_RGB24, quality: nil, path: path)
        case .jpeg:
            let yuv = try Frame(width: image.width, height: image.height, format: AV_PIX_FMT_YUVJ420P)
            let scaler = try Scaler(srcWidth: image.width, srcHeight: image.height, srcFormat: AV_PIX_FMT_RGB24,
                                    dstWidth: image.width, dstHeight: image.height, dstFormat: AV_PIX_FMT_YUVJ420P,
                                    color: jpegColor, threads: 1)
            try scaler.scale(src.f, into: yuv.f)
            try encode(yuv, codecID: AV_CODEC_ID_MJPEG, pixelFormat: AV_PIX_FMT_YUVJ420P,
                       quality: Int32(min(31, max(1, jpegQuality))), path: path)
        }
    }

    /// Writes an 8-bit gray PNG.
    public static func writeGray(_ image: GrayImage, to path: String) throws {
        guard try format(of: path) == .png else { throw MediaError.unsupportedExtension(path: path) }
        let src = try Frame(width: image.width, height: image.height, format: AV_PIX_FMT_GRAY8)
        try src.setPackedBytes(image.pixels, channels: 1)
        try encode(src, codecID: AV_CODEC_ID_PNG, pixelFormat: AV_PIX_FMT_GRAY8, quality: nil, path: path)
    }

    /// JPEG (JFIF) is BT.601 full range.
    static let jpegColor = ColorInfo(space: AVCOL_SPC_BT470BG, fullRange: true)

    /// The first bytes of a file: enough for the PNG header, or a JPEG's markers up to its frame header.
    static func headerBytes(_ path: String, limit: Int = 1 << 20) throws -> [UInt8] {
        try InputFile.preflight(path)
        guard let fh = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? fh.close() }
        return [UInt8]((try? fh.read(upToCount: limit)) ?? Data())
    }

    /// A label map's class ids, exactly as stored: 8-bit gray values, palette indices (a PNG with a
    /// colour palette stores ids as indices), or 16-bit gray values up to 255. Anything else (RGB, gray
    /// with alpha, 16-bit values over 255) is refused: converting it to brightness would invent ids.
    public static func readLabelMap(path: String) throws -> GrayImage {
        let frame = try decodeFrame(path: path, header: try headerBytes(path))
        let f = frame.f
        let w = Int(f.pointee.width), h = Int(f.pointee.height)
        let fmt = AVPixelFormat(rawValue: f.pointee.format)
        let stride = Int(f.pointee.linesize.0)
        guard let data = f.pointee.data.0 else { throw MediaError.noFrames(path: path) }
        var ids = [UInt8](repeating: 0, count: w * h)
        switch fmt {
        case AV_PIX_FMT_GRAY8, AV_PIX_FMT_PAL8:
            for y in 0..<h { for x in 0..<w { ids[y * w + x] = data[y * stride + x] } }
        case AV_PIX_FMT_GRAY16BE, AV_PIX_FMT_GRAY16LE:
            let big = fmt == AV_PIX_FMT_GRAY16BE
            for y in 0..<h {
                for x in 0..<w {
                    let a = Int(data[y * stride + 2 * x]), b = Int(data[y * stride + 2 * x + 1])
                    let v = big ? a << 8 | b : b << 8 | a
                    guard v <= 255 else {
                        throw MediaError.unsupportedLabelMap(
                            path: path, detail: "16-bit value \(v) at (\(x), \(y)) is not a class id (0-255)")
                    }
                    ids[y * w + x] = UInt8(v)
                }
            }
        default:
            let name = av_get_pix_fmt_name(fmt).map { String(cString: $0) } ?? "unknown"
            throw MediaError.unsupportedLabelMap(path: path, detail: "pixel format \(name)")
        }
        return GrayImage(width: w, height: h, pixels: ids)
    }

    private static func decode(path: String, to target: AVPixelFormat, header: [UInt8]) throws -> ([UInt8], Int, Int) {
        let frame = try decodeFrame(path: path, header: header)
        let f = frame.f
        let w = Int(f.pointee.width), h = Int(f.pointee.height)
        let srcFmt = AVPixelFormat(rawValue: f.pointee.format)
        let out = try Frame(width: w, height: h, format: target)
        var color = ColorInfo(frame: f)
        if f.pointee.colorspace == AVCOL_SPC_UNSPECIFIED && !Scaler.isRGB(srcFmt) {
            color = jpegColor
            color.fullRange = f.pointee.color_range != AVCOL_RANGE_MPEG
        }
        let scaler = try Scaler(srcWidth: w, srcHeight: h, srcFormat: srcFmt, dstWidth: w, dstHeight: h,
                                dstFormat: target, color: color, threads: 1)
        try scaler.scale(f, into: out.f)
        return (out.packedBytes(channels: target == AV_PIX_FMT_GRAY8 ? 1 : 3), w, h)
    }

    /// The file's first picture, as decoded, after its declared and decoded sizes are checked.
    private static func decodeFrame(path: String, header: [UInt8]) throws -> Frame {
        _ = try format(of: path)
        if let (w, h) = ImageHeader.declaredSize(header) { try MediaLimits.check(width: w, height: h, path: path) }
        let input = try InputFile(path: path)
        let (idx, codec) = try input.videoStream()
        let decoder = try Decoder(stream: input.stream(idx), codec: codec, threads: 1, path: path)
        let packet = try Packet(), frame = try Frame()
        var gotFrame = false
        var sentFlush = false
        while !gotFrame {
            let r = avcodec_receive_frame(decoder.c, frame.f)
            if r == 0 { gotFrame = true; break }
            if r == FFmpegError.endOfFile { break }
            if r != FFmpegError.tryAgain && r != FFmpegError.invalidData {
                throw FFmpegError(code: r, operation: "decode picture", path: path)
            }
            if sentFlush { break }
            let rr = av_read_frame(input.ctx, packet.p)
            if rr < 0 {
                _ = avcodec_send_packet(decoder.c, nil)
                sentFlush = true
                continue
            }
            if Int(packet.p.pointee.stream_index) == idx { _ = avcodec_send_packet(decoder.c, packet.p) }
            av_packet_unref(packet.p)
        }
        guard gotFrame else { throw MediaError.noFrames(path: path) }
        try MediaLimits.check(width: Int(frame.f.pointee.width), height: Int(frame.f.pointee.height), path: path)
        return frame
    }

    private static func encode(_ frame: Frame, codecID: AVCodecID, pixelFormat: AVPixelFormat,
                               quality: Int32?, path: String) throws {
        let output = try OutputFile(path: path)
        guard let codec = avcodec_find_encoder(codecID) else {
            throw MediaError.encoderUnavailable(path: path, encoder: String(cString: avcodec_get_name(codecID)))
        }
        var ctx = avcodec_alloc_context3(codec)
        defer { avcodec_free_context(&ctx) }
        guard let enc = ctx else { throw FFmpegError(code: svia_averror(ENOMEM), operation: "allocate encoder", path: path) }
        enc.pointee.width = frame.f.pointee.width
        enc.pointee.height = frame.f.pointee.height
        enc.pointee.pix_fmt = pixelFormat
        enc.pointee.time_base = AVRational(num: 1, den: 1)
        enc.pointee.flags |= AV_CODEC_FLAG_BITEXACT
        if let q = quality {
            enc.pointee.color_range = AVCOL_RANGE_JPEG
            enc.pointee.flags |= AV_CODEC_FLAG_QSCALE
            enc.pointee.global_quality = FF_QP2LAMBDA * q
            frame.f.pointee.quality = FF_QP2LAMBDA * q
        }
        try check(avcodec_open2(enc, codec, nil), "open picture encoder", path: path)
        frame.f.pointee.pts = 0
        try check(avcodec_send_frame(enc, frame.f), "encode picture", path: path)
        try check(avcodec_send_frame(enc, nil), "encode picture", path: path)
        let packet = try Packet()
        var bytes = Data()
        while avcodec_receive_packet(enc, packet.p) == 0 {
            bytes.append(packet.p.pointee.data, count: Int(packet.p.pointee.size))
            av_packet_unref(packet.p)
        }
        guard FileManager.default.createFile(atPath: output.tempPath, contents: bytes) else {
            throw FFmpegError(code: svia_averror(EACCES), operation: "create output file", path: path)
        }
        try output.commit()
    }
}
