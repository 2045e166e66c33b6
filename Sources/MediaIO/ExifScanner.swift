import Foundation

/// The privacy-relevant parts of a JPEG's EXIF block (APP1 "Exif"), read directly from the file:
/// device make and model, date and time, and whether a GPS directory is present.
struct ExifSummary: Equatable {
    var make: String?
    var model: String?
    var dateTime: String?
    var hasGPS = false
    var software: String?
}

enum ExifScanner {
    /// Scans the JPEG markers before the image data for an EXIF segment; nil when there is none.
    static func scan(jpeg data: [UInt8]) -> ExifSummary? {
        guard data.count > 4, data[0] == 0xFF, data[1] == 0xD8 else { return nil }
        var i = 2
        while i + 4 <= data.count, data[i] == 0xFF {
            let marker = data[i + 1]
            if marker == 0xDA || marker == 0xD9 { break }
            let len = Int(data[i + 2]) << 8 | Int(data[i + 3])
            guard len >= 2, i + 2 + len <= data.count else { break }
            let body = i + 4, end = i + 2 + len
            if marker == 0xE1, end - body >= 6, Array(data[body..<body + 6]) == Array("Exif\0\0".utf8) {
                return parseTIFF(Array(data[(body + 6)..<end]))
            }
            i = end
        }
        return nil
    }

    private static func parseTIFF(_ t: [UInt8]) -> ExifSummary? {
        guard t.count >= 8 else { return nil }
        let little: Bool
        switch (t[0], t[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= t.count else { return nil }
            return little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let b = u16(o + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        func ascii(count: Int, valueAt o: Int) -> String? {
            let start = count <= 4 ? o : (u32(o) ?? -1)
            guard start >= 0, count > 0, start + count <= t.count else { return nil }
            let bytes = t[start..<(start + count)].prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        }
        var summary = ExifSummary()
        var visited = Set<Int>()
        func walk(_ ifd: Int) {
            guard !visited.contains(ifd), visited.count < 8, let n = u16(ifd), n < 1000 else { return }
            visited.insert(ifd)
            for k in 0..<n {
                let e = ifd + 2 + 12 * k
                guard let tag = u16(e), let type = u16(e + 2), let count = u32(e + 4) else { return }
                let text = type == 2 ? ascii(count: count, valueAt: e + 8) : nil
                switch tag {
                case 0x010F: summary.make = text
                case 0x0110: summary.model = text
                case 0x0131: summary.software = text
                case 0x0132, 0x9003: if summary.dateTime == nil { summary.dateTime = text }
                case 0x8825: summary.hasGPS = true
                case 0x8769: if let sub = u32(e + 8) { walk(sub) }
                default: break
                }
            }
        }
        if let first = u32(4) { walk(first) }
        return summary
    }
}
