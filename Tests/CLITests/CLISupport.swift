import Foundation
import MediaIO

/// A scratch folder for one test, removed afterwards.
final class Scratch {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "svia-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func mkdir(_ name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: file(name), withIntermediateDirectories: true)
        return file(name)
    }

    /// Every file below the folder (relative paths, sorted), hidden ones included.
    func tree(_ sub: String = "") -> [String] {
        let root = sub.isEmpty ? path : file(sub)
        let e = FileManager.default.enumerator(atPath: root)
        var out: [String] = []
        while let p = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            FileManager.default.fileExists(atPath: root + "/" + p, isDirectory: &isDir)
            if !isDir.boolValue { out.append(p) }
        }
        return out.sorted()
    }
}

/// Runs an installed tool and returns its standard output; throws on a non-zero exit.
@discardableResult
func tool(_ name: String, _ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/" + name)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "\(name) failed: \(String(decoding: e, as: UTF8.self))"])
    }
    return String(decoding: o, as: UTF8.self)
}

/// Video frame presentation timestamps (in the stream's time base) and the container duration.
func videoTiming(_ path: String) throws -> (pts: [String], duration: String) {
    let pts = try tool("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts",
                                   "-of", "csv=p=0", path]).split(separator: "\n").map(String.init)
    let duration = try tool("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path])
    return (pts, duration.trimmingCharacters(in: .whitespacesAndNewlines))
}

func codecTypes(_ path: String) throws -> [String] {
    try tool("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", path])
        .split(separator: "\n").map(String.init)
}

/// A deterministic textured picture.
func texture(width: Int, height: Int) -> RGBImage {
    var img = RGBImage(width: width, height: height)
    for y in 0..<height {
        for x in 0..<width {
            img[x, y] = (UInt8((x * 7 + y * 3) & 255), UInt8((x * x + y) & 255), UInt8((y * 5) & 255))
        }
    }
    return img
}

/// A trainIds label map: car (13) in the rectangle, sky (10) elsewhere.
func carLabelMap(width: Int, height: Int, car: (x: Range<Int>, y: Range<Int>)) -> GrayImage {
    var g = GrayImage(width: width, height: height, fill: 10)
    for y in car.y { for x in car.x { g[x, y] = 13 } }
    return g
}
