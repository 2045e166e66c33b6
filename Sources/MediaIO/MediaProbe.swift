import CFFmpeg
import Foundation

/// One thing in a file that can reveal where, when or with what it was recorded.
public struct PrivacyItem: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case location, time, device, text, gpsTrack, subtitleStream, dataStream, attachment, audio, exif, exifGPS
    }
    public var kind: Kind
    public var detail: String
    /// Whether svia leaves it out when writing with default options.
    public var removedByDefault: Bool
}

/// The streams of a file and everything in it that bears on privacy.
public struct ProbeReport: Sendable, Codable, Equatable, CustomStringConvertible {
    public var path: String
    public var formatName: String
    public var durationSeconds: Double?
    public var streams: [StreamInfo]
    public var tags: [String: String]
    public var privacyItems: [PrivacyItem]

    public var description: String {
        var lines = ["\(path): \(formatName)" + (durationSeconds.map { ", \(formatSeconds($0)) s" } ?? "")]
        for s in streams {
            var d = "  stream #\(s.index) \(s.kind.rawValue) \(s.codec)"
            if let w = s.width, let h = s.height { d += " \(w)x\(h)" }
            if let r = s.sampleRate { d += " \(r) Hz" }
            if let n = s.frameCount { d += ", \(n) frames" }
            lines.append(d)
        }
        if privacyItems.isEmpty {
            lines.append("  no location, time or device information found")
        } else {
            lines.append("  privacy-relevant:")
            for p in privacyItems {
                lines.append("    [\(p.removedByDefault ? "removed" : "kept")] \(p.kind.rawValue): \(p.detail)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

private func formatSeconds(_ s: Double) -> String {
    let ms = Int.clamped((s * 1000).rounded())
    let frac = String(ms % 1000)
    return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
}

/// Lists a file's streams and the items that identify place, time or device, and what svia removes.
public enum MediaProbe {
    public static func probe(path: String) throws -> ProbeReport {
        let input = try InputFile(path: path)
        let ctx = input.ctx
        let streams = (0..<input.streamCount).map { StreamInfo(input.stream($0)) }
        let tags = dictionaryEntries(ctx.pointee.metadata)
        var items: [PrivacyItem] = []
        for key in tags.keys.sorted() where !VideoTranscoder.structuralTags.contains(key) {
            items.append(PrivacyItem(kind: classify(key), detail: "\(key)=\(tags[key]!)", removedByDefault: true))
        }
        let isImage = MediaKind.of(path: path) == .image || input.formatName.hasSuffix("_pipe") || input.formatName == "image2"
        for s in streams {
            for key in s.tags.keys.sorted() where key != "language" && !MediaProbe.isGeneric(key, s.tags[key]!) {
                items.append(PrivacyItem(kind: classify(key), detail: "stream #\(s.index) \(key)=\(s.tags[key]!)",
                                         removedByDefault: true))
            }
            switch s.kind {
            case .subtitle:
                items.append(PrivacyItem(kind: .subtitleStream,
                                         detail: "stream #\(s.index) \(s.codec) (dashcams store GPS and speed as text)",
                                         removedByDefault: true))
            case .data:
                let gps = s.codec.lowercased().contains("gp") || (s.tags["handler_name"] ?? "").lowercased().contains("gps")
                items.append(PrivacyItem(kind: gps ? .gpsTrack : .dataStream, detail: "stream #\(s.index) \(s.codec)",
                                         removedByDefault: true))
            case .attachment:
                items.append(PrivacyItem(kind: .attachment, detail: "stream #\(s.index) \(s.codec)", removedByDefault: true))
            case .audio:
                items.append(PrivacyItem(kind: .audio, detail: "stream #\(s.index) \(s.codec) (voices, cabin sound)",
                                         removedByDefault: true))
            default: break
            }
        }
        if isImage, let data = FileManager.default.contents(atPath: path), let exif = ExifScanner.scan(jpeg: [UInt8](data)) {
            if exif.hasGPS { items.append(PrivacyItem(kind: .exifGPS, detail: "EXIF GPS position", removedByDefault: true)) }
            if let m = exif.make { items.append(PrivacyItem(kind: .device, detail: "EXIF Make=\(m)", removedByDefault: true)) }
            if let m = exif.model { items.append(PrivacyItem(kind: .device, detail: "EXIF Model=\(m)", removedByDefault: true)) }
            if let s = exif.software { items.append(PrivacyItem(kind: .device, detail: "EXIF Software=\(s)", removedByDefault: true)) }
            if let d = exif.dateTime { items.append(PrivacyItem(kind: .time, detail: "EXIF DateTime=\(d)", removedByDefault: true)) }
            items.append(PrivacyItem(kind: .exif, detail: "EXIF block", removedByDefault: true))
        }
        if isImage, fileExtension(path) == "png", let data = FileManager.default.contents(atPath: path) {
            for chunk in PNGChunkScanner.scan(png: [UInt8](data)) {
                let kind: PrivacyItem.Kind
                switch chunk.type {
                case "tIME": kind = .time
                case "eXIf": kind = .exif
                default: kind = classify(chunk.keyword)
                }
                let detail = chunk.keyword.isEmpty ? "PNG \(chunk.type) chunk" : "PNG \(chunk.type) \(chunk.keyword)"
                items.append(PrivacyItem(kind: kind, detail: detail, removedByDefault: true))
            }
        }
        var duration: Double? = nil
        if ctx.pointee.duration > 0 && ctx.pointee.duration != svia_nopts_value() {
            duration = Double(ctx.pointee.duration) / Double(AV_TIME_BASE)
        }
        return ProbeReport(path: path, formatName: input.formatName, durationSeconds: duration, streams: streams,
                           tags: tags, privacyItems: items)
    }

    /// Values every muxer writes (`handler_name=VideoHandler`, an empty vendor id): they tell nothing.
    static func isGeneric(_ key: String, _ value: String) -> Bool {
        switch key {
        case "handler_name": return ["VideoHandler", "SoundHandler", "SubtitleHandler", "DataHandler", "TimeCodeHandler"].contains(value)
        case "vendor_id": return value == "[0][0][0][0]" || value == "FFMP" || value.isEmpty
        case "duration", "DURATION": return true
        default: return false
        }
    }

    static func classify(_ key: String) -> PrivacyItem.Kind {
        let k = key.lowercased()
        if k.contains("location") || k.contains("gps") || k.contains("xyz") || k.contains("iso6709") { return .location }
        if k.contains("time") || k.contains("date") || k == "year" { return .time }
        if k.contains("make") || k.contains("model") || k.contains("software") || k.contains("encoder")
            || k.contains("serial") || k.contains("handler") || k.contains("vendor") || k.contains("firmware") {
            return .device
        }
        return .text
    }
}
