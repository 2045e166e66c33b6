// SHA-256 (FIPS 180-4 §6.2) and SHA-1 (FIPS 180-4 §6.1), streaming, for checking downloaded model files
// against the hub's ETags: LFS files are named by the SHA-256 of their content, small git files by their
// git blob SHA-1 ("blob <size>\0" + content).
import Foundation

/// A streaming hash: feed bytes with `update`, read the digest once with `finalize`.
public protocol StreamingDigest {
    init()
    mutating func update(_ bytes: UnsafeRawBufferPointer)
    mutating func finalize() -> [UInt8]
}

extension StreamingDigest {
    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of `data` as lowercase hex.
    public static func hex(_ data: Data) -> String {
        var d = Self()
        d.update(data)
        return hexString(d.finalize())
    }

    /// The digest of a file's content as lowercase hex, read in 4 MiB pieces; `progress` gets bytes read so far.
    public static func hex(fileAt url: URL, progress: ((Int64) -> Void)? = nil) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var d = Self()
        var done: Int64 = 0
        while true {
            let chunk = try handle.read(upToCount: 4 << 20) ?? Data()
            if chunk.isEmpty { break }
            d.update(chunk)
            done += Int64(chunk.count)
            progress?(done)
        }
        return hexString(d.finalize())
    }
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Both hashes share the Merkle–Damgård framing: 64-byte blocks, a 0x80 byte, zeros, and the message length in
/// bits as a big-endian 64-bit number.
struct BlockBuffer {
    var block = [UInt8](repeating: 0, count: 64)
    var used = 0
    var length: UInt64 = 0

    /// Feeds bytes, calling `compress` for each full block.
    mutating func append(_ bytes: UnsafeRawBufferPointer, _ compress: (UnsafePointer<UInt8>) -> Void) {
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var n = bytes.count
        length &+= UInt64(n)
        if used > 0 {
            let take = min(64 - used, n)
            for i in 0..<take { block[used + i] = p[i] }
            used += take
            p += take
            n -= take
            guard used == 64 else { return }  // still a partial block: nothing more to do
            block.withUnsafeBufferPointer { compress($0.baseAddress!) }
            used = 0
        }
        while n >= 64 {
            compress(p)
            p += 64
            n -= 64
        }
        for i in 0..<n { block[i] = p[i] }
        used = n
    }

    /// Pads the last block(s) and compresses them.
    mutating func pad(_ compress: (UnsafePointer<UInt8>) -> Void) {
        let bits = length &* 8
        block[used] = 0x80
        used += 1
        if used > 56 {
            for i in used..<64 { block[i] = 0 }
            block.withUnsafeBufferPointer { compress($0.baseAddress!) }
            used = 0
        }
        for i in used..<56 { block[i] = 0 }
        for i in 0..<8 { block[56 + i] = UInt8(truncatingIfNeeded: bits >> (56 - 8 * UInt64(i))) }
        block.withUnsafeBufferPointer { compress($0.baseAddress!) }
        used = 0
    }
}

@inline(__always) private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
@inline(__always) private func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

@inline(__always) private func bigEndianWord(_ p: UnsafePointer<UInt8>, _ i: Int) -> UInt32 {
    UInt32(p[4 * i]) << 24 | UInt32(p[4 * i + 1]) << 16 | UInt32(p[4 * i + 2]) << 8 | UInt32(p[4 * i + 3])
}

private func bigEndianBytes(_ words: [UInt32]) -> [UInt8] {
    words.flatMap { w in [UInt8(w >> 24), UInt8((w >> 16) & 0xff), UInt8((w >> 8) & 0xff), UInt8(w & 0xff)] }
}

public struct SHA256: StreamingDigest {
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    private var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var buffer = BlockBuffer()
    private var w = [UInt32](repeating: 0, count: 64)

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var b = buffer
        b.append(bytes) { compress($0) }
        buffer = b
    }

    public mutating func finalize() -> [UInt8] {
        var b = buffer
        b.pad { compress($0) }
        buffer = b
        return bigEndianBytes(h)
    }

    private mutating func compress(_ p: UnsafePointer<UInt8>) {
        w.withUnsafeMutableBufferPointer { w in
            for i in 0..<16 { w[i] = bigEndianWord(p, i) }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
            Self.k.withUnsafeBufferPointer { k in
                for i in 0..<64 {
                    let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                    let ch = (e & f) ^ (~e & g)
                    let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
                    let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                    let maj = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = s0 &+ maj
                    hh = g; g = f; f = e; e = d &+ t1
                    d = c; c = b; b = a; a = t1 &+ t2
                }
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d
            h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
        }
    }
}

public struct SHA1: StreamingDigest {
    private var h: [UInt32] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
    private var buffer = BlockBuffer()
    private var w = [UInt32](repeating: 0, count: 80)

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var b = buffer
        b.append(bytes) { compress($0) }
        buffer = b
    }

    public mutating func finalize() -> [UInt8] {
        var b = buffer
        b.pad { compress($0) }
        buffer = b
        return bigEndianBytes(h)
    }

    private mutating func compress(_ p: UnsafePointer<UInt8>) {
        w.withUnsafeMutableBufferPointer { w in
            for i in 0..<16 { w[i] = bigEndianWord(p, i) }
            for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
            var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4]
            for i in 0..<80 {
                let f: UInt32, k: UInt32
                switch i {
                case 0..<20: f = (b & c) | (~b & d); k = 0x5A827999
                case 20..<40: f = b ^ c ^ d; k = 0x6ED9EBA1
                case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC
                default: f = b ^ c ^ d; k = 0xCA62C1D6
                }
                let t = rotl(a, 5) &+ f &+ e &+ k &+ w[i]
                e = d; d = c; c = rotl(b, 30); b = a; a = t
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e
        }
    }
}

/// Git's object id of a file: SHA-1 of "blob <size>\0" followed by the content (what the hub reports as the
/// ETag of files stored in git rather than LFS).
public enum GitBlobHash {
    public static func hex(_ data: Data) -> String {
        var d = SHA1()
        d.update(Data("blob \(data.count)\0".utf8))
        d.update(data)
        return hexString(d.finalize())
    }

    public static func hex(fileAt url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let size = try handle.seekToEnd()  // the content's size, through any symlink
        try handle.seek(toOffset: 0)
        var d = SHA1()
        d.update(Data("blob \(size)\0".utf8))
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { d.update(chunk) }
        return hexString(d.finalize())
    }
}
