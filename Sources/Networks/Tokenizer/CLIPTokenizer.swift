// Port of transformers 5.23.0 `models/clip/tokenization_clip.py` (CLIPTokenizer, backed by the `tokenizers`
// library): NFC, runs of whitespace to one space, lower case; added tokens split out first; CLIP's regex
// pre-tokenisation; GPT-2's byte-to-unicode mapping; byte-level BPE with a "</w>" end-of-word suffix.
// Like transformers 5 (and unlike openai/open_clip), no ftfy repair and no HTML unescaping happen, so
// mojibake or "&amp;" in a prompt are tokenised as written.
import Foundation

public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case missingFile(String)
    case unreadable(file: String, reason: String)
    case badVocabulary(file: String, reason: String)
    case badMerges(file: String, line: Int, reason: String)
    case unknownSpecialToken(String)
    /// A value of `tokenizer_config.json`, or the tokenizer as a whole, does not fit the text encoder.
    case badConfig(file: String, reason: String)

    public var description: String {
        switch self {
        case let .missingFile(path): "tokenizer: \(path) is missing (need vocab.json and merges.txt, or tokenizer.json)"
        case let .unreadable(file, reason): "tokenizer: cannot read \(file) (\(reason))"
        case let .badVocabulary(file, reason): "tokenizer: \(file): \(reason)"
        case let .badMerges(file, line, reason): "tokenizer: \(file) line \(line): \(reason)"
        case let .unknownSpecialToken(token): "tokenizer: special token \"\(token)\" is not in the vocabulary"
        case let .badConfig(file, reason): "tokenizer: \(file): \(reason)"
        }
    }
}

/// CLIP's byte-level BPE tokenizer, as Stable Diffusion 2 uses it (OpenCLIP ViT-H: bos 49406, eos 49407, pad 0).
///
/// SD 2.x's `tokenizer/special_tokens_map.json` makes "!" the pad token, and transformers matches special tokens
/// in the text, so a "!" in a prompt becomes id 0 as well (open_clip would give "!</w>", 256; diffusers issue
/// #4153). svia follows transformers, since that is what the published SD 2.x weights are run with.
public struct CLIPTokenizer: Sendable {
    /// A token matched in the text before pre-tokenisation (special tokens).
    public struct AddedToken: Sendable, Equatable {
        public var content: String
        public var id: Int
        /// Matched after normalisation (lower-casing) when true, in the raw text when false.
        public var normalized: Bool

        public init(content: String, id: Int, normalized: Bool) {
            self.content = content
            self.id = id
            self.normalized = normalized
        }
    }

    public let vocabulary: [String: Int]
    public let bosTokenId: Int
    public let eosTokenId: Int
    public let padTokenId: Int
    /// Sequence length the text encoder takes, bos and eos included.
    public let maxLength: Int
    public let addedTokens: [AddedToken]
    let ranks: [String: Int]
    let idToToken: [Int: String]
    let cache: BPECache

    public static let startOfText = "<|startoftext|>"
    public static let endOfText = "<|endoftext|>"

    /// A tokenizer from a vocabulary and merges list (in rank order).
    public init(vocabulary: [String: Int], merges: [(String, String)], padToken: String = "!",
                maxLength: Int = 77, addedTokens: [AddedToken]? = nil) throws {
        func id(_ token: String) throws -> Int {
            guard let i = vocabulary[token] else { throw TokenizerError.unknownSpecialToken(token) }
            return i
        }
        self.vocabulary = vocabulary
        self.bosTokenId = try id(Self.startOfText)
        self.eosTokenId = try id(Self.endOfText)
        self.padTokenId = try id(padToken)
        self.maxLength = maxLength
        self.addedTokens = try addedTokens ?? [
            AddedToken(content: Self.startOfText, id: id(Self.startOfText), normalized: true),
            AddedToken(content: Self.endOfText, id: id(Self.endOfText), normalized: true),
            AddedToken(content: padToken, id: id(padToken), normalized: false),
        ]
        var ranks: [String: Int] = [:]
        ranks.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() where ranks[a + " " + b] == nil {
            ranks[a + " " + b] = rank
        }
        self.ranks = ranks
        self.idToToken = Dictionary(vocabulary.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        self.cache = BPECache()
    }

    // MARK: Encoding

    /// Token ids with bos and eos, padded with the pad token and truncated to `maxLength` (eos kept last):
    /// what diffusers passes to the text encoder (`padding="max_length", truncation=True`).
    public func encode(_ text: String) -> [Int] {
        var ids = encode(text, addSpecialTokens: true)
        if ids.count > maxLength {
            ids = Array(ids.prefix(maxLength - 1)) + [eosTokenId]
        }
        return ids + Array(repeating: padTokenId, count: maxLength - ids.count)
    }

    /// Token ids of the whole text, neither padded nor truncated; with bos/eos when `addSpecialTokens`.
    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        var ids: [Int] = addSpecialTokens ? [bosTokenId] : []
        for piece in split(text) {
            switch piece {
            case let .token(id): ids.append(id)
            case let .text(normalized):
                for word in Self.preTokenize(normalized) { ids += bpeIds(word) }
            }
        }
        if addSpecialTokens { ids.append(eosTokenId) }
        return ids
    }

    /// The BPE tokens of the text (no bos/eos), for inspection.
    public func tokenize(_ text: String) -> [String] {
        encode(text, addSpecialTokens: false).map { idToToken[$0] ?? "" }
    }

    /// Text back from ids: special tokens dropped, "</w>" read as a space.
    public func decode(_ ids: [Int]) -> String {
        let special = Set(addedTokens.map(\.id) + [bosTokenId, eosTokenId, padTokenId])
        var bytes: [UInt8] = []
        for token in ids.filter({ !special.contains($0) }).compactMap({ idToToken[$0] }) {
            let endsWord = token.hasSuffix("</w>")
            for scalar in (endsWord ? String(token.dropLast(4)) : token).unicodeScalars {
                if let b = ByteLevel.decoder[scalar] { bytes.append(b) }
            }
            if endsWord { bytes.append(0x20) }
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    // MARK: Added tokens and normalisation

    enum Piece: Equatable {
        case text(String)  // normalised, not yet pre-tokenised
        case token(Int)
    }

    /// Raw-text tokens first, then normalisation, then normalised tokens (the `tokenizers` AddedVocabulary order).
    func split(_ text: String) -> [Piece] {
        let raw = addedTokens.filter { !$0.normalized }
        let normalizedTokens = addedTokens.filter(\.normalized)
        var pieces: [Piece] = []
        for part in Self.splitOnTokens(Array(text.unicodeScalars), raw) {
            switch part {
            case let .token(id):
                pieces.append(.token(id))
            case let .text(s):
                let normal = Self.normalize(s)
                for inner in Self.splitOnTokens(Array(normal.unicodeScalars), normalizedTokens) {
                    if case let .text(t) = inner, t.isEmpty { continue }
                    pieces.append(inner)
                }
            }
        }
        return pieces
    }

    /// Leftmost-longest matching of the tokens' contents in `scalars`.
    static func splitOnTokens(_ scalars: [Unicode.Scalar], _ tokens: [AddedToken]) -> [Piece] {
        let patterns = tokens.filter { !$0.content.isEmpty }.map { (Array($0.content.unicodeScalars), $0.id) }
        guard !patterns.isEmpty else { return [.text(String(String.UnicodeScalarView(scalars)))] }
        var pieces: [Piece] = []
        var start = 0, i = 0
        while i < scalars.count {
            var best: (length: Int, id: Int)?
            for (p, id) in patterns where p.count > (best?.length ?? 0) && i + p.count <= scalars.count {
                if scalars[i..<(i + p.count)].elementsEqual(p) { best = (p.count, id) }
            }
            if let best {
                pieces.append(.text(String(String.UnicodeScalarView(scalars[start..<i]))))
                pieces.append(.token(best.id))
                i += best.length
                start = i
            } else {
                i += 1
            }
        }
        pieces.append(.text(String(String.UnicodeScalarView(scalars[start...]))))
        return pieces
    }

    /// NFC, every run of white space to one space, per-character lower case (no final-sigma rule, like `tokenizers`).
    static func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var inSpace = false
        for scalar in text.precomposedStringWithCanonicalMapping.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !inSpace { out.append(" ") }
                inSpace = true
                continue
            }
            inSpace = false
            out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
        }
        return String(out)
    }

    // MARK: Pre-tokenisation

    /// The pattern's literal alternatives, in its order: the two special tokens, then the contractions.
    static let literals: [[Unicode.Scalar]] = [startOfText, endOfText, "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
        .map { Array($0.unicodeScalars) }

    enum CharClass { case letter, number, space, other }

    static func charClass(_ s: Unicode.Scalar) -> CharClass {
        if s.properties.isWhitespace { return .space }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// CLIP's pattern `<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`,
    /// leftmost-first; what it does not match (white space) is dropped.
    static func preTokenize(_ text: String) -> [[Unicode.Scalar]] {
        let s = Array(text.unicodeScalars)
        var words: [[Unicode.Scalar]] = []
        var i = 0
        func startsWith(_ p: [Unicode.Scalar]) -> Bool {
            i + p.count <= s.count && s[i..<(i + p.count)].elementsEqual(p)
        }
        while i < s.count {
            if let p = literals.first(where: startsWith) {
                words.append(p)
                i += p.count
                continue
            }
            let cls = charClass(s[i])
            switch cls {
            case .space:
                i += 1
            case .number:
                words.append([s[i]])
                i += 1
            case .letter, .other:
                var j = i + 1
                while j < s.count, charClass(s[j]) == cls { j += 1 }
                words.append(Array(s[i..<j]))
                i = j
            }
        }
        return words
    }

    // MARK: BPE

    func bpeIds(_ word: [Unicode.Scalar]) -> [Int] {
        let key = String(String.UnicodeScalarView(word))
        if let hit = cache.get(key) { return hit }
        let ids = bpe(ByteLevel.encode(key)).map { vocabulary[$0] ?? eosTokenId }
        cache.set(key, ids)
        return ids
    }

    /// Merges the lowest-ranked adjacent pair everywhere, until no pair has a rank (CLIP's `bpe`).
    func bpe(_ symbols: [String]) -> [String] {
        guard var last = symbols.last else { return [] }
        last += "</w>"
        var word = Array(symbols.dropLast()) + [last]
        while word.count > 1 {
            var best: (rank: Int, first: String, second: String)?
            for k in 0..<(word.count - 1) {
                if let r = ranks[word[k] + " " + word[k + 1]], r < (best?.rank ?? .max) {
                    best = (r, word[k], word[k + 1])
                }
            }
            guard let (_, a, b) = best else { break }
            var merged: [String] = []
            merged.reserveCapacity(word.count)
            var k = 0
            while k < word.count {
                if k < word.count - 1, word[k] == a, word[k + 1] == b {
                    merged.append(a + b)
                    k += 2
                } else {
                    merged.append(word[k])
                    k += 1
                }
            }
            word = merged
        }
        return word
    }
}

/// GPT-2's reversible map from bytes to printable characters (so BPE never sees control bytes or spaces).
enum ByteLevel {
    /// (byte, character) in GPT-2's order: printable bytes map to themselves, the rest to 256, 257, ...
    /// CLIP's vocabulary lists the characters in this order.
    static let ordered: [(UInt8, Unicode.Scalar)] = {
        var bytes = Array(UInt32(33)...126) + Array(UInt32(161)...172) + Array(UInt32(174)...255)
        var codes = bytes
        var n: UInt32 = 0
        for b in UInt32(0)...255 where !bytes.contains(b) {
            bytes.append(b)
            codes.append(256 + n)
            n += 1
        }
        return zip(bytes, codes).map { (UInt8($0), Unicode.Scalar($1)!) }
    }()

    /// Character of each byte value.
    static let encoder: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, c) in ordered { table[Int(b)] = c }
        return table
    }()

    static let decoder: [Unicode.Scalar: UInt8] = {
        Dictionary(uniqueKeysWithValues: encoder.enumerated().map { ($0.element, UInt8($0.offset)) })
    }()

    /// The byte-level symbols of a word: one per UTF-8 byte.
    static func encode(_ word: String) -> [String] {
        word.utf8.map { String(Character(encoder[Int($0)])) }
    }
}

/// Word -> ids memo shared by copies of a tokenizer; bounded so that odd inputs cannot grow it without limit.
final class BPECache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: [Int]] = [:]
    private let capacity = 10_000

    func get(_ word: String) -> [Int]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[word]
    }

    func set(_ word: String, _ ids: [Int]) {
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[word] = ids
    }
}
