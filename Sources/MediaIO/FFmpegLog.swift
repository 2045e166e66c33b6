import CFFmpeg

/// FFmpeg's own console log. Quiet by default so that a failure reads as one clear svia error.
public enum FFmpegLog {
    private static let quietByDefault: Void = { av_log_set_level(AV_LOG_FATAL) }()

    /// Lets FFmpeg print its warnings and errors (`true`) or only fatal ones (`false`, the default).
    public static func setVerbose(_ verbose: Bool) {
        ensureConfigured()
        av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_FATAL)
    }

    static func ensureConfigured() { _ = quietByDefault }
}
