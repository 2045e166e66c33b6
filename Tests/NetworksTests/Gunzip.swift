// A small gzip (RFC 1952) / DEFLATE (RFC 1951) decoder, so the tests can read the committed
// bpe_simple_vocab_16e6.txt.gz without a zlib dependency. Correctness is checked by the CRC-32 in the trailer.
import Foundation

enum Gunzip {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func decompress(_ data: Data) throws -> Data {
        let bytes = [UInt8](data)
        guard bytes.count >= 18, bytes[0] == 0x1F, bytes[1] == 0x8B, bytes[2] == 8 else {
            throw Failure(description: "not a gzip file")
        }
        let flags = bytes[3]
        var pos = 10
        if flags & 4 != 0 { pos += 2 + Int(bytes[pos]) | Int(bytes[pos + 1]) << 8 }
        if flags & 8 != 0 { while bytes[pos] != 0 { pos += 1 }; pos += 1 }
        if flags & 16 != 0 { while bytes[pos] != 0 { pos += 1 }; pos += 1 }
        if flags & 2 != 0 { pos += 2 }
        var inflater = Inflater(bytes: bytes, position: pos)
        let out = try inflater.run()
        let t = inflater.trailerStart
        let crc = UInt32(bytes[t]) | UInt32(bytes[t + 1]) << 8 | UInt32(bytes[t + 2]) << 16 | UInt32(bytes[t + 3]) << 24
        guard crc32(out) == crc else { throw Failure(description: "CRC mismatch") }
        return Data(out)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var table = [UInt32](repeating: 0, count: 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[i] = c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// Canonical Huffman code: counts per length and symbols sorted by code.
    struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int] = []

        init(lengths: [Int]) {
            for l in lengths { counts[l] += 1 }
            counts[0] = 0
            var offsets = [Int](repeating: 0, count: 16)
            for l in 1..<16 { offsets[l] = offsets[l - 1] + counts[l - 1] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (s, l) in lengths.enumerated() where l > 0 {
                symbols[offsets[l]] = s
                offsets[l] += 1
            }
        }
    }

    struct Inflater {
        let bytes: [UInt8]
        var position: Int
        var bitBuffer = 0, bitCount = 0
        var out: [UInt8] = []
        var trailerStart = 0

        init(bytes: [UInt8], position: Int) {
            self.bytes = bytes
            self.position = position
        }

        mutating func bits(_ n: Int) throws -> Int {
            while bitCount < n {
                guard position < bytes.count else { throw Failure(description: "truncated deflate stream") }
                bitBuffer |= Int(bytes[position]) << bitCount
                position += 1
                bitCount += 8
            }
            let v = bitBuffer & ((1 << n) - 1)
            bitBuffer >>= n
            bitCount -= n
            return v
        }

        mutating func decode(_ h: Huffman) throws -> Int {
            var code = 0, first = 0, index = 0
            for len in 1..<16 {
                code |= try bits(1)
                let count = h.counts[len]
                if code - count < first { return h.symbols[index + (code - first)] }
                index += count
                first = (first + count) << 1
                code <<= 1
            }
            throw Failure(description: "bad Huffman code")
        }

        static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
        static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
        static let distBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
        static let distExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

        mutating func run() throws -> [UInt8] {
            var final = 0
            repeat {
                final = try bits(1)
                switch try bits(2) {
                case 0:
                    bitBuffer = 0
                    bitCount = 0
                    let len = Int(bytes[position]) | Int(bytes[position + 1]) << 8
                    position += 4
                    out += bytes[position..<(position + len)]
                    position += len
                case 1:
                    let lit = Huffman(lengths: Array(repeating: 8, count: 144) + Array(repeating: 9, count: 112)
                                      + Array(repeating: 7, count: 24) + Array(repeating: 8, count: 8))
                    try block(lit, Huffman(lengths: Array(repeating: 5, count: 30)))
                case 2:
                    let (lit, dist) = try dynamicTables()
                    try block(lit, dist)
                default:
                    throw Failure(description: "reserved block type")
                }
            } while final == 0
            trailerStart = position
            return out
        }

        mutating func dynamicTables() throws -> (Huffman, Huffman) {
            let nlen = try bits(5) + 257, ndist = try bits(5) + 1, ncode = try bits(4) + 4
            let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
            var codeLengths = [Int](repeating: 0, count: 19)
            for i in 0..<ncode { codeLengths[order[i]] = try bits(3) }
            let lencode = Huffman(lengths: codeLengths)
            var lengths: [Int] = []
            while lengths.count < nlen + ndist {
                let sym = try decode(lencode)
                switch sym {
                case 0..<16: lengths.append(sym)
                case 16: lengths += Array(repeating: lengths.last ?? 0, count: 3 + (try bits(2)))
                case 17: lengths += Array(repeating: 0, count: 3 + (try bits(3)))
                default: lengths += Array(repeating: 0, count: 11 + (try bits(7)))
                }
            }
            return (Huffman(lengths: Array(lengths[0..<nlen])), Huffman(lengths: Array(lengths[nlen...])))
        }

        mutating func block(_ lit: Huffman, _ dist: Huffman) throws {
            while true {
                let sym = try decode(lit)
                if sym < 256 {
                    out.append(UInt8(sym))
                } else if sym == 256 {
                    return
                } else {
                    let i = sym - 257
                    let length = Self.lengthBase[i] + (try bits(Self.lengthExtra[i]))
                    let d = try decode(dist)
                    let distance = Self.distBase[d] + (try bits(Self.distExtra[d]))
                    let start = out.count - distance
                    for k in 0..<length { out.append(out[start + k]) }
                }
            }
        }
    }
}
