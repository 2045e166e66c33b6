import Foundation

/// The privacy-relevant parts of a JPEG's EXIF block (APP1 "Exif"), read directly from the file:
/// device make and model, date and time, and whether a GPS directory is present.
struct ExifSummary: Equatable {
    var make: String?
    var model: String?
    var dateTime: String?
    var hasGPS = false
    var software: String?
    /// The EXIF Orientation (1...8) of IFD0; nil when absent or out of range.
    var orientation: Int?
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
        let first = u32(4) ?? -1
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
                case 0x0112 where type == 3 && ifd == first:
                    if let v = u16(e + 8), (1...8).contains(v) { summary.orientation = v }
                case 0x8769: if let sub = u32(e + 8) { walk(sub) }
                default: break
                }
            }
        }
        if first >= 0 { walk(first) }
        return summary
    }
}

/// The picture size a PNG (`IHDR`) or JPEG (`SOFn`) header declares, read before any decoder sees the
/// file so that an oversized picture is refused before its buffer is allocated.
enum ImageHeader {
    static func declaredSize(_ d: [UInt8]) -> (width: Int, height: Int)? {
        func be16(_ o: Int) -> Int { Int(d[o]) << 8 | Int(d[o + 1]) }
        func be32(_ o: Int) -> Int { be16(o) << 16 | be16(o + 2) }
        if d.count >= 24, d[0] == 0x89, d[1] == 0x50, d[2] == 0x4E, d[3] == 0x47,
           String(decoding: d[12..<16], as: UTF8.self) == "IHDR" {
            return (be32(16), be32(20))
        }
        guard d.count > 4, d[0] == 0xFF, d[1] == 0xD8 else { return nil }
        var i = 2
        while i + 4 <= d.count, d[i] == 0xFF {
            let marker = d[i + 1]
            if marker == 0xFF { i += 1; continue }
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return nil }
            if (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
                guard i + 9 <= d.count else { return nil }
                return (be16(i + 7), be16(i + 5))
            }
            let len = be16(i + 2)
            guard len >= 2 else { return nil }
            i += 2 + len
        }
        return nil
    }
}

/// Text and time chunks of a PNG (`tEXt`, `zTXt`, `iTXt`, `tIME`, `eXIf`): where image editors and
/// cameras put authors, dates, places and EXIF.
enum PNGChunkScanner {
    struct Chunk: Equatable {
        var type: String
        /// The keyword of a text chunk, e.g. "Creation Time"; empty for others.
        var keyword: String
    }

    static func scan(png data: [UInt8]) -> [Chunk] {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard data.count >= 8, Array(data[0..<8]) == signature else { return [] }
        var found: [Chunk] = []
        var i = 8
        while i + 8 <= data.count, found.count < 1000 {
            let len = Int(data[i]) << 24 | Int(data[i + 1]) << 16 | Int(data[i + 2]) << 8 | Int(data[i + 3])
            let type = String(decoding: data[(i + 4)..<(i + 8)], as: UTF8.self)
            let body = i + 8
            guard len >= 0, body + len <= data.count else { break }
            switch type {
            case "tEXt", "zTXt", "iTXt":
                let keyword = data[body..<(body + len)].prefix { $0 != 0 }.prefix(79)
                found.append(Chunk(type: type, keyword: String(decoding: keyword, as: UTF8.self)))
            case "tIME", "eXIf":
                found.append(Chunk(type: type, keyword: ""))
            case "IEND":
                return found
            default:
                break
            }
            i = body + len + 4
        }
        return found
    }
}
