import Foundation
import Testing
@testable import MediaIO

/// A temporary folder with clips made by the `ffmpeg` command-line tool, removed at deinit.
final class TestDir {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "svia-mediaio-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    /// Names in the folder, hidden ones (partial outputs) included.
    var contents: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] }

    /// Runs `ffmpeg -y -v error <args>` and returns the path of its last argument.
    @discardableResult
    func ffmpeg(_ args: [String]) throws -> String {
        let out = try run("ffmpeg", ["-hide_banner", "-y", "-v", "error"] + args)
        _ = out
        return args.last!
    }

    /// A clip from a lavfi source, e.g. `testsrc2=size=160x120:rate=25`.
    func clip(_ name: String, source: String = "testsrc2=size=160x120:rate=25", seconds: Double = 1.2,
              extra: [String] = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]) throws -> String {
        try ffmpeg(["-f", "lavfi", "-i", source, "-t", String(seconds)] + extra + [file(name)])
    }
}

@discardableResult
func run(_ tool: String, _ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/" + tool)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    if p.terminationStatus != 0 {
        throw ToolError(message: "\(tool) \(args.joined(separator: " ")): \(String(decoding: errData, as: UTF8.self))")
    }
    return String(decoding: data, as: UTF8.self)
}

struct ToolError: Error, CustomStringConvertible { let message: String; var description: String { message } }

/// ffprobe's CSV rows for one stream selector and entries, e.g. `("v:0", "frame=pts_time")`.
func probeRows(_ path: String, _ stream: String, _ entries: String, frames: Bool = false) throws -> [String] {
    var args = ["-v", "error", "-select_streams", stream, "-show_entries", entries, "-of", "csv=p=0"]
    if frames { args.append("-count_frames") }
    return try run("ffprobe", args + [path]).split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
}

/// Frame presentation times in seconds, in order.
func frameTimes(_ path: String) throws -> [Double] {
    try probeRows(path, "v:0", "frame=pts_time").map { Double($0.split(separator: ",")[0]) ?? -1 }
}

func formatDuration(_ path: String) throws -> Double {
    Double(try probeRows(path, "v:0", "format=duration").first ?? "") ?? -1
}

func streamTypes(_ path: String) throws -> [String] {
    try run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", path])
        .split(separator: "\n").map(String.init)
}

/// All container and stream tags as "key=value" lines.
func allTags(_ path: String) throws -> String {
    try run("ffprobe", ["-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "flat", path])
}

func psnr(_ a: RGBImage, _ b: RGBImage) -> Double {
    precondition(a.pixels.count == b.pixels.count)
    var se = 0.0
    for i in 0..<a.pixels.count { let d = Double(a.pixels[i]) - Double(b.pixels[i]); se += d * d }
    let mse = se / Double(a.pixels.count)
    return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
}

func readAll(_ path: String) throws -> [VideoFrame] {
    let r = try VideoReader(path: path)
    var out: [VideoFrame] = []
    while let f = try r.nextFrame() { out.append(f) }
    return out
}

func runData(_ tool: String, _ args: [String]) throws -> Data {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/" + tool)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    if p.terminationStatus != 0 { throw ToolError(message: "\(tool) failed") }
    return data
}

/// A deterministic picture with noise, gradients and sharp edges.
func patternImage(width: Int, height: Int, seed: UInt64 = 1) -> RGBImage {
    var rng = SplitMix(seed)
    var img = RGBImage(width: width, height: height)
    for y in 0..<height {
        for x in 0..<width {
            img[x, y] = (UInt8(truncatingIfNeeded: rng.next()), UInt8((x * 255) / max(width, 1)), UInt8((y * 255) / max(height, 1)))
        }
    }
    return img
}

struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
