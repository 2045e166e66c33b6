import CFFmpeg

/// The colour description of a video stream: which YUV matrix, which range, and the tags passed on to
/// an encoder. The same description drives both directions of conversion so that an untouched pixel
/// comes back as it went in. The tags are kept as found: an untagged stream is written untagged, and is
/// converted with the matrix FFmpeg (swscale's default) and players apply to untagged video, BT.601.
struct ColorInfo {
    /// The matrix tag; `AVCOL_SPC_UNSPECIFIED` when the stream carries none.
    var space: AVColorSpace
    var fullRange: Bool
    /// False when the stream does not say which range it uses (limited range is then assumed).
    var rangeTagged = true
    var primaries: AVColorPrimaries
    var transfer: AVColorTransferCharacteristic

    /// From a decoded frame.
    init(frame: UnsafePointer<AVFrame>) {
        space = frame.pointee.colorspace
        let fmt = AVPixelFormat(rawValue: frame.pointee.format)
        fullRange = frame.pointee.color_range == AVCOL_RANGE_JPEG || ColorInfo.isFullRangeFormat(fmt)
        rangeTagged = frame.pointee.color_range != AVCOL_RANGE_UNSPECIFIED || ColorInfo.isFullRangeFormat(fmt)
        primaries = frame.pointee.color_primaries
        transfer = frame.pointee.color_trc
    }

    /// From a stream's codec parameters.
    init(parameters par: UnsafePointer<AVCodecParameters>) {
        space = par.pointee.color_space
        let fmt = AVPixelFormat(rawValue: par.pointee.format)
        fullRange = par.pointee.color_range == AVCOL_RANGE_JPEG || ColorInfo.isFullRangeFormat(fmt)
        rangeTagged = par.pointee.color_range != AVCOL_RANGE_UNSPECIFIED || ColorInfo.isFullRangeFormat(fmt)
        primaries = par.pointee.color_primaries
        transfer = par.pointee.color_trc
    }

    init(space: AVColorSpace, fullRange: Bool,
         primaries: AVColorPrimaries = AVCOL_PRI_UNSPECIFIED, transfer: AVColorTransferCharacteristic = AVCOL_TRC_UNSPECIFIED) {
        self.space = space
        self.fullRange = fullRange
        self.primaries = primaries
        self.transfer = transfer
    }

    /// The tag for new video made from RGB pictures: BT.709 for HD, BT.601 for SD.
    static func defaultSpace(width: Int, height: Int) -> AVColorSpace {
        (width >= 1280 || height >= 720) ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M
    }

    /// The range tag an encoder is given: none when the input gave none.
    var rangeTag: AVColorRange {
        fullRange ? AVCOL_RANGE_JPEG : (rangeTagged ? AVCOL_RANGE_MPEG : AVCOL_RANGE_UNSPECIFIED)
    }

    static func isFullRangeFormat(_ f: AVPixelFormat) -> Bool {
        f == AV_PIX_FMT_YUVJ420P || f == AV_PIX_FMT_YUVJ422P || f == AV_PIX_FMT_YUVJ444P || f == AV_PIX_FMT_YUVJ440P
    }

    /// swscale's coefficient table; its SWS_CS_* numbering follows AVColorSpace. Unspecified, RGB and
    /// reserved tags get swscale's default (SWS_CS_DEFAULT, BT.601), as the `ffmpeg` tool decodes them.
    var swsCoefficients: UnsafePointer<Int32> {
        let cs: Int32
        switch space {
        case AVCOL_SPC_BT709: cs = SWS_CS_ITU709
        case AVCOL_SPC_FCC: cs = SWS_CS_FCC
        case AVCOL_SPC_SMPTE240M: cs = SWS_CS_SMPTE240M
        case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: cs = SWS_CS_BT2020
        default: cs = SWS_CS_ITU601
        }
        return sws_getCoefficients(cs)
    }
}

/// A threaded swscale context (`SwsContext`) converting between one size/format pair, freed in `deinit`.
/// Threads only apply through `sws_scale_frame`, and can only be set before `sws_init_context`.
final class Scaler {
    private let context: OpaquePointer

    init(srcWidth: Int, srcHeight: Int, srcFormat: AVPixelFormat,
         dstWidth: Int, dstHeight: Int, dstFormat: AVPixelFormat,
         color: ColorInfo, flags: Int32 = SWS_BICUBIC, threads: Int = 2) throws {
        guard let c = sws_alloc_context() else { throw FFmpegError(code: svia_averror(ENOMEM), operation: "allocate scaler") }
        context = c
        let raw = UnsafeMutableRawPointer(c)
        av_opt_set_int(raw, "srcw", Int64(srcWidth), 0)
        av_opt_set_int(raw, "srch", Int64(srcHeight), 0)
        av_opt_set_int(raw, "dstw", Int64(dstWidth), 0)
        av_opt_set_int(raw, "dsth", Int64(dstHeight), 0)
        av_opt_set_int(raw, "src_format", Int64(srcFormat.rawValue), 0)
        av_opt_set_int(raw, "dst_format", Int64(dstFormat.rawValue), 0)
        av_opt_set_int(raw, "sws_flags", Int64(flags), 0)
        av_opt_set_int(raw, "threads", Int64(max(1, threads)), 0)
        try check(sws_init_context(c, nil, nil), "initialise colour conversion")
        let srcIsRGB = Scaler.isRGB(srcFormat), dstIsRGB = Scaler.isRGB(dstFormat)
        let coeffs = color.swsCoefficients
        _ = sws_setColorspaceDetails(c, coeffs, srcIsRGB ? 1 : (color.fullRange ? 1 : 0),
                                     coeffs, dstIsRGB ? 1 : (color.fullRange ? 1 : 0), 0, 1 << 16, 1 << 16)
    }

    deinit { sws_freeContext(context) }

    func scale(_ src: UnsafePointer<AVFrame>, into dst: UnsafeMutablePointer<AVFrame>) throws {
        try check(sws_scale_frame(context, dst, src), "convert colours")
    }

    static func isRGB(_ f: AVPixelFormat) -> Bool {
        guard let d = av_pix_fmt_desc_get(f) else { return false }
        return d.pointee.flags & UInt64(AV_PIX_FMT_FLAG_RGB) != 0 || f == AV_PIX_FMT_GRAY8
    }
}

extension RGBImage {
    /// The picture turned clockwise by a multiple of 90 degrees.
    func rotated(clockwise degrees: Int) -> RGBImage {
        let d = ((degrees % 360) + 360) % 360
        if d == 0 { return self }
        let w = width, h = height
        let (ow, oh) = d == 180 ? (w, h) : (h, w)
        var out = [UInt8](repeating: 0, count: w * h * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w {
                        let (nx, ny): (Int, Int)
                        switch d {
                        case 90: (nx, ny) = (h - 1 - y, x)
                        case 180: (nx, ny) = (w - 1 - x, h - 1 - y)
                        default: (nx, ny) = (y, w - 1 - x)
                        }
                        let s = (y * w + x) * 3, o = (ny * ow + nx) * 3
                        dst[o] = src[s]; dst[o + 1] = src[s + 1]; dst[o + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }

    /// The picture mirrored left to right.
    func mirrored() -> RGBImage {
        var out = pixels
        let w = width
        for y in 0..<height {
            for x in 0..<w {
                let s = (y * w + x) * 3, o = (y * w + (w - 1 - x)) * 3
                out[o] = pixels[s]; out[o + 1] = pixels[s + 1]; out[o + 2] = pixels[s + 2]
            }
        }
        return RGBImage(width: w, height: height, pixels: out)
    }

    /// The picture as shown for an EXIF Orientation value (1: as stored; 2...8: mirrored and/or turned).
    func oriented(exif orientation: Int) -> RGBImage {
        switch orientation {
        case 2: return mirrored()
        case 3: return rotated(clockwise: 180)
        case 4: return mirrored().rotated(clockwise: 180)
        case 5: return mirrored().rotated(clockwise: 270)
        case 6: return rotated(clockwise: 90)
        case 7: return mirrored().rotated(clockwise: 90)
        case 8: return rotated(clockwise: 270)
        default: return self
        }
    }
}
