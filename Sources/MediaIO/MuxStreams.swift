import CFFmpeg

/// Adding streams to a muxer: what every output svia writes (`VideoWriter`, `CopyOutput`) does alike, so the
/// privacy rule for stream tags lives in one place.
enum MuxStreams {
    /// Whether the muxer's container can hold `id`.
    static func canHold(_ id: AVCodecID, in format: UnsafeMutablePointer<AVFormatContext>) -> Bool {
        id != AV_CODEC_ID_NONE && avformat_query_codec(format.pointee.oformat, id, FF_COMPLIANCE_NORMAL) == 1
    }

    /// A stream whose packets are copied unchanged; nil when the container cannot hold its codec.
    static func addCopied(to format: UnsafeMutablePointer<AVFormatContext>, from input: UnsafeMutablePointer<AVStream>,
                          keepTags: Bool, path: String) throws -> UnsafeMutablePointer<AVStream>? {
        let par = input.pointee.codecpar!
        guard canHold(par.pointee.codec_id, in: format) else { return nil }
        guard let st = avformat_new_stream(format, nil) else {
            throw FFmpegError(code: svia_averror(ENOMEM), operation: "add stream", path: path)
        }
        try check(avcodec_parameters_copy(st.pointee.codecpar, par), "copy stream parameters", path: path)
        st.pointee.codecpar.pointee.codec_tag = 0
        st.pointee.time_base = input.pointee.time_base
        st.pointee.disposition = input.pointee.disposition
        copyTags(from: input.pointee.metadata, to: &st.pointee.metadata, all: keepTags)
        return st
    }

    /// A stream fed by an encoder the caller owns, with the tags of the stream it replaces.
    static func addEncoded(to format: UnsafeMutablePointer<AVFormatContext>, from enc: UnsafeMutablePointer<AVCodecContext>,
                           tagsFrom input: UnsafeMutablePointer<AVStream>, keepTags: Bool,
                           path: String) throws -> UnsafeMutablePointer<AVStream> {
        guard let st = avformat_new_stream(format, nil) else {
            throw FFmpegError(code: svia_averror(ENOMEM), operation: "add stream", path: path)
        }
        try check(avcodec_parameters_from_context(st.pointee.codecpar, enc), "configure stream", path: path)
        st.pointee.time_base = enc.pointee.time_base
        copyTags(from: input.pointee.metadata, to: &st.pointee.metadata, all: keepTags)
        return st
    }

    /// Only the language survives unless all tags are kept: a handler or title can name a device or a place.
    static func copyTags(from src: OpaquePointer?, to dst: inout OpaquePointer?, all: Bool) {
        if all {
            av_dict_copy(&dst, src, 0)
        } else if let lang = av_dict_get(src, "language", nil, 0) {
            av_dict_set(&dst, "language", lang.pointee.value, 0)
        }
    }
}
