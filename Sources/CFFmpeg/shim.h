#ifndef CFFMPEG_SHIM_H
#define CFFMPEG_SHIM_H
#include <errno.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/dict.h>
#include <libavutil/log.h>
#include <libavutil/display.h>
#include <libavutil/motion_vector.h>

// Macros Swift cannot import (function-like macros, FFERRTAG codes, casts, compound literals).
static inline int     svia_averror(int posix_errno) { return AVERROR(posix_errno); }
static inline int     svia_averror_eof(void)        { return AVERROR_EOF; }
static inline int     svia_averror_eagain(void)     { return AVERROR(EAGAIN); }
static inline int     svia_averror_invaliddata(void){ return AVERROR_INVALIDDATA; }
static inline int     svia_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int     svia_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int     svia_averror_encoder_not_found(void) { return AVERROR_ENCODER_NOT_FOUND; }
static inline int64_t svia_nopts_value(void)        { return AV_NOPTS_VALUE; }
static inline AVRational svia_time_base_q(void)     { return AV_TIME_BASE_Q; }
#endif
