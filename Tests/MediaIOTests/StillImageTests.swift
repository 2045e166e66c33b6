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
