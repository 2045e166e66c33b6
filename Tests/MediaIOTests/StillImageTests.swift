import Foundation
import Testing
@testable import MediaIO

@Suite struct StillImageTests {
    @Test(arguments: [(641, 359), (1, 1), (3, 5), (64, 48)])
    func pngRoundTripIsBitIdentical(size: (Int, Int)) throws {
        let dir = try TestDir()
        let img = patternImage(width: size.0, height: size.1)
        let path = dir.file("p.PNG")
        try StillImage.write(img, to: path)
        #expect(try StillImage.read(path: path) == img)
        #expect(dir.contents == ["p.PNG"])
    }

    @Test func grayPNGRoundTrip() throws {
        let dir = try TestDir()
        var g = GrayImage(width: 37, height: 11)
        for i in 0..<g.pixels.count { g.pixels[i] = UInt8(i % 251) }
        let path = dir.file("mask.png")
        try StillImage.writeGray(g, to: path)
        #expect(try StillImage.readGray(path: path) == g)
        #expect(try probeRows(path, "v:0", "stream=pix_fmt") == ["gray"])
    }

    @Test func jpegRoundTripIsClose() throws {
        let dir = try TestDir()
        var img = RGBImage(width: 97, height: 63)
        for y in 0..<63 { for x in 0..<97 { img[x, y] = (UInt8(x * 2), UInt8(y * 4), 128) } }
        let path = dir.file("a.jpeg")
        try StillImage.write(img, to: path)
        let back = try StillImage.read(path: path)
        #expect(back.width == 97 && back.height == 63)
        // 4:2:0 chroma subsampling of a per-pixel chroma ramp costs a few dB; a wrong matrix costs far more.
        #expect(psnr(img, back) > 30)
        let ref = try runData("ffmpeg", ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        #expect(psnr(RGBImage(width: 97, height: 63, pixels: [UInt8](ref)), back) > 38)
    }

    @Test func jpegExifGPSIsReportedAndNotRewritten() throws {
        let dir = try TestDir()
        let plain = dir.file("plain.jpg")
        try StillImage.write(patternImage(width: 32, height: 24), to: plain)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain)))
        bytes.insert(contentsOf: exifSegment(make: "Acme", model: "Cam9"), at: 2)
        let tagged = dir.file("tagged.jpg")
        try Data(bytes).write(to: URL(fileURLWithPath: tagged))

        let report = try MediaProbe.probe(path: tagged)
        #expect(report.privacyItems.contains { $0.kind == .exifGPS })
        #expect(report.privacyItems.contains { $0.detail == "EXIF Make=Acme" })
        #expect(report.privacyItems.contains { $0.detail == "EXIF Model=Cam9" })
        #expect(report.description.contains("exifGPS"))

        let out = dir.file("clean.jpg")
        try StillImage.write(try StillImage.read(path: tagged), to: out)
        let outBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        #expect(ExifScanner.scan(jpeg: outBytes) == nil)
        #expect(!Data(outBytes).contains(Data("Exif".utf8)))
        #expect(!Data(outBytes).contains(Data("Lavc".utf8)))
        #expect(try MediaProbe.probe(path: out).privacyItems.isEmpty)
    }

    @Test func pngTextChunksAreReportedAndNotRewritten() throws {
        let dir = try TestDir()
        let plain = dir.file("plain.png")
        try StillImage.write(patternImage(width: 32, height: 24), to: plain)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain)))
        // After the signature (8) and IHDR (4 + 4 + 13 + 4).
        bytes.insert(contentsOf: pngChunk("tEXt", Array("Creation Time".utf8) + [0] + Array("2024-05-01 10:00".utf8))
                     + pngChunk("tEXt", Array("Author".utf8) + [0] + Array("Jane".utf8)), at: 33)
        let tagged = dir.file("t.png")
        try Data(bytes).write(to: URL(fileURLWithPath: tagged))
        #expect(try StillImage.read(path: tagged) == patternImage(width: 32, height: 24))
        let items = try MediaProbe.probe(path: tagged).privacyItems
        #expect(items.contains { $0.kind == .time && $0.detail.contains("Creation Time") }, "\(items)")
        #expect(items.contains { $0.detail.contains("Author") })
        let out = dir.file("clean.png")
        try StillImage.write(try StillImage.read(path: tagged), to: out)
        #expect(PNGChunkScanner.scan(png: [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))).isEmpty)
        #expect(try MediaProbe.probe(path: out).privacyItems.isEmpty)
    }

    @Test func unsupportedExtensionIsRejected() throws {
        let dir = try TestDir()
        #expect(throws: MediaError.unsupportedExtension(path: dir.file("x.gif"))) {
            try StillImage.write(RGBImage(width: 2, height: 2), to: dir.file("x.gif"))
        }
    }

    @Test func mediaKindByExtension() {
        #expect(MediaKind.of(path: "/a/B.MP4") == .video)
        #expect(MediaKind.of(path: "x.mkv") == .video)
        #expect(MediaKind.of(path: "x.JPeG") == .image)
        #expect(MediaKind.of(path: "x.png") == .image)
        #expect(MediaKind.of(path: "x.txt") == .unsupported)
        #expect(MediaKind.of(path: "noext") == .unsupported)
    }
}

/// An APP1 EXIF segment (little-endian TIFF) with Make, Model and a GPS IFD holding GPSVersionID.
func exifSegment(make: String, model: String) -> [UInt8] {
    var t: [UInt8] = Array("II".utf8) + [42, 0, 8, 0, 0, 0]
    func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    func u32(_ v: Int) -> [UInt8] { u16(v & 0xFFFF) + u16(v >> 16) }
    let makeBytes = Array(make.utf8) + [0], modelBytes = Array(model.utf8) + [0]
    let ifd0Size = 2 + 3 * 12 + 4
    let makeOff = 8 + ifd0Size
    let modelOff = makeOff + makeBytes.count
    let gpsOff = modelOff + modelBytes.count
    t += u16(3)
    t += u16(0x010F) + u16(2) + u32(makeBytes.count) + u32(makeOff)
    t += u16(0x0110) + u16(2) + u32(modelBytes.count) + u32(modelOff)
    t += u16(0x8825) + u16(4) + u32(1) + u32(gpsOff)
    t += u32(0)
    t += makeBytes + modelBytes
    t += u16(1) + u16(0x0000) + u16(1) + u32(4) + [2, 2, 0, 0] + u32(0)
    let payload = Array("Exif".utf8) + [0, 0] + t
    let len = payload.count + 2
    return [0xFF, 0xE1, UInt8(len >> 8), UInt8(len & 0xFF)] + payload
}

func pngChunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
    let typed = Array(type.utf8) + body
    var crc: UInt32 = 0xFFFF_FFFF
    for b in typed {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    crc ^= 0xFFFF_FFFF
    func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    return be(UInt32(body.count)) + typed + be(crc)
}

/// An APP1 EXIF segment holding only IFD0's Orientation.
func orientationSegment(_ value: Int) -> [UInt8] {
    let t: [UInt8] = Array("II".utf8) + [42, 0, 8, 0, 0, 0] + [1, 0] + [0x12, 0x01, 3, 0, 1, 0, 0, 0, UInt8(value), 0, 0, 0]
        + [0, 0, 0, 0]
    let payload = Array("Exif".utf8) + [0, 0] + t
    let len = payload.count + 2
    return [0xFF, 0xE1, UInt8(len >> 8), UInt8(len & 0xFF)] + payload
}

extension StillImageTests {
    /// A phone photo stored sideways with an Orientation tag reads upright and is written upright, untagged.
    /// The stored picture is 32x16: red left half, blue right half, a green top-left corner.
    @Test(arguments: [(1, 32, 16), (2, 32, 16), (3, 32, 16), (6, 16, 32), (8, 16, 32), (5, 16, 32), (7, 16, 32)])
    func jpegOrientationIsApplied(case: (Int, Int, Int)) throws {
        let (orientation, w, h) = `case`
        let dir = try TestDir()
        var img = RGBImage(width: 32, height: 16)
        for y in 0..<16 { for x in 0..<32 { img[x, y] = x < 16 ? (255, 0, 0) : (0, 0, 255) } }
        for y in 0..<4 { for x in 0..<4 { img[x, y] = (0, 255, 0) } }
        let plain = dir.file("plain.jpg")
        try StillImage.write(img, to: plain)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain)))
        bytes.insert(contentsOf: orientationSegment(orientation), at: 2)
        let tagged = dir.file("phone.jpg")
        try Data(bytes).write(to: URL(fileURLWithPath: tagged))

        let back = try StillImage.read(path: tagged)
        #expect(back.width == w && back.height == h)
        let expected = img.oriented(exif: orientation)
        #expect(psnr(expected, back) > 25, "orientation \(orientation)")
        // Where the green corner lands, by the EXIF definition of each value.
        let corner: (Int, Int) = [1: (1, 1), 2: (30, 1), 3: (30, 14), 5: (1, 1), 6: (14, 1), 7: (14, 30), 8: (1, 30)][orientation]!
        let px = back[corner.0, corner.1]
        #expect(px.1 > 200 && px.0 < 60 && px.2 < 60, "orientation \(orientation): \(px)")

        let out = dir.file("out.jpg")
        try StillImage.write(back, to: out)
        #expect(ExifScanner.scan(jpeg: [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))) == nil)
        let written = try StillImage.read(path: out)
        #expect(written.width == w && written.height == h)
    }

    /// The size in the header is checked before FFmpeg decodes anything.
    @Test(arguments: [(60000, 60000), (20000, 8)])
    func oversizedPNGIsRefusedBeforeDecoding(size: (Int, Int)) throws {
        let dir = try TestDir()
        let path = dir.file("bomb.png")
        try StillImage.write(patternImage(width: 8, height: 8), to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        for (o, v) in [(16, size.0), (20, size.1)] {
            bytes[o] = UInt8(v >> 24); bytes[o + 1] = UInt8(v >> 16 & 0xFF); bytes[o + 2] = UInt8(v >> 8 & 0xFF); bytes[o + 3] = UInt8(v & 0xFF)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: MediaError.dimensionsTooLarge(path: path, width: size.0, height: size.1)) {
            try StillImage.read(path: path)
        }
        #expect(ImageHeader.declaredSize(bytes)! == (size.0, size.1))
    }

    @Test func jpegHeaderSizeIsFound() throws {
        let dir = try TestDir()
        let path = dir.file("a.jpg")
        try StillImage.write(patternImage(width: 33, height: 17), to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes.insert(contentsOf: exifSegment(make: "Acme", model: "Cam9"), at: 2)
        #expect(ImageHeader.declaredSize(bytes)! == (33, 17))
        #expect(ImageHeader.declaredSize([0xFF, 0xD8, 0xFF]) == nil)
    }
}

/// A PNG from raw scanlines (filter 0, stored deflate blocks): any colour type and depth FFmpeg reads.
func rawPNG(width: Int, height: Int, colorType: UInt8, bitDepth: UInt8, rows: [[UInt8]], palette: [UInt8]? = nil) -> [UInt8] {
    func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    let raw: [UInt8] = rows.flatMap { (row: [UInt8]) -> [UInt8] in [0] + row }
    var z: [UInt8] = [0x78, 0x01]
    var i = 0
    repeat {
        let n = min(65535, raw.count - i)
        let last: UInt8 = i + n >= raw.count ? 1 : 0
        let len = UInt16(n), nlen = ~UInt16(n)
        let head: [UInt8] = [last, UInt8(len & 0xFF), UInt8(len >> 8), UInt8(nlen & 0xFF), UInt8(nlen >> 8)]
        z += head
        z += raw[i..<(i + n)]
        i += n
    } while i < raw.count
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
    let adler = Int(b) << 16 | Int(a)
    z += be(adler)
    var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    png += pngChunk("IHDR", be(width) + be(height) + [bitDepth, colorType, 0, 0, 0])
    if let palette { png += pngChunk("PLTE", palette) }
    png += pngChunk("IDAT", z) + pngChunk("IEND", [])
    return png
}

extension StillImageTests {
    static let ids: [UInt8] = [0, 10, 13, 255, 11, 24, 18, 7]

    /// Palette indices are the class ids, whatever colours the palette gives them.
    @Test func paletteLabelMapReadsIndices() throws {
        let dir = try TestDir()
        var palette: [UInt8] = []
        for i in 0..<256 { palette += [UInt8((i * 37) & 255), UInt8((i * 91) & 255), UInt8(255 - i)] }
        let path = dir.file("pal.png")
        try Data(rawPNG(width: 8, height: 2, colorType: 3, bitDepth: 8, rows: [Self.ids, Self.ids.reversed()],
                        palette: palette)).write(to: URL(fileURLWithPath: path))
        #expect(try probeRows(path, "v:0", "stream=pix_fmt") == ["pal8"])
        let map = try StillImage.readLabelMap(path: path)
        #expect(map.pixels == Self.ids + Self.ids.reversed())
    }

    @Test func sixteenBitLabelMapReadsIdsExactly() throws {
        let dir = try TestDir()
        let path = dir.file("g16.png")
        let row: [UInt8] = Self.ids.flatMap { (v: UInt8) -> [UInt8] in [0, v] }
        try Data(rawPNG(width: 8, height: 1, colorType: 0, bitDepth: 16, rows: [row])).write(to: URL(fileURLWithPath: path))
        #expect(try probeRows(path, "v:0", "stream=pix_fmt").first?.hasPrefix("gray16") == true)
        #expect(try StillImage.readLabelMap(path: path).pixels == Self.ids)

        let over = dir.file("over.png")
        try Data(rawPNG(width: 2, height: 1, colorType: 0, bitDepth: 16, rows: [[0, 13, 1, 44]])).write(to: URL(fileURLWithPath: over))
        #expect {
            try StillImage.readLabelMap(path: over)
        } throws: { e in
            guard case .unsupportedLabelMap(let p, let d)? = e as? MediaError else { return false }
            return p == over && d.contains("300")
        }
    }

    @Test func rgbLabelMapIsRefused() throws {
        let dir = try TestDir()
        let path = dir.file("rgb.png")
        try StillImage.write(patternImage(width: 8, height: 4), to: path)
        #expect {
            try StillImage.readLabelMap(path: path)
        } throws: { e in
            guard case .unsupportedLabelMap(let p, _)? = e as? MediaError else { return false }
            return p == path && "\(e)".contains("rgb24") && "\(e)".contains(path)
        }
        let gray = dir.file("gray.png")
        try StillImage.writeGray(GrayImage(width: 8, height: 1, pixels: Self.ids), to: gray)
        #expect(try StillImage.readLabelMap(path: gray).pixels == Self.ids)
    }
}
