// Loading CLIPTokenizer from a diffusers/transformers `tokenizer/` folder, or building CLIP's vocabulary from
// the OpenAI/OpenCLIP merges list (`bpe_simple_vocab_16e6.txt`) the way CLIP's own SimpleTokenizer does.
import Foundation

extension CLIPTokenizer {
    /// Number of merges CLIP uses from `bpe_simple_vocab_16e6.txt`: 49408 tokens - 256 bytes x 2 - 2 specials.
    public static let clipMergeCount = 49152 - 256 - 2

    /// Loads `vocab.json` + `merges.txt` (or `tokenizer.json`), with the special tokens from
    /// `special_tokens_map.json` overriding `tokenizer_config.json` as transformers does (SD 2.x pads with "!").
    public init(folder: URL) throws {
        let fm = FileManager.default
        let vocabURL = folder.appendingPathComponent("vocab.json")
        let mergesURL = folder.appendingPathComponent("merges.txt")
        let fastURL = folder.appendingPathComponent("tokenizer.json")
        let vocabulary: [String: Int]
        let merges: [(String, String)]
        if fm.fileExists(atPath: vocabURL.path), fm.fileExists(atPath: mergesURL.path) {
            vocabulary = try Self.readVocabulary(vocabURL)
            merges = try Self.parseMerges(Self.readText(mergesURL), file: mergesURL.path)
        } else if fm.fileExists(atPath: fastURL.path) {
            (vocabulary, merges) = try Self.readFastTokenizer(fastURL)
        } else {
            throw TokenizerError.missingFile(vocabURL.path)
        }

        let config = try Self.readJSONObject(folder.appendingPathComponent("tokenizer_config.json")) ?? [:]
        let specialMap = try Self.readJSONObject(folder.appendingPathComponent("special_tokens_map.json")) ?? [:]
        func special(_ name: String, _ fallback: String) -> (content: String, normalized: Bool) {
            Self.addedToken(specialMap[name]) ?? Self.addedToken(config[name]) ?? (fallback, false)
        }
        let pad = special("pad_token", Self.endOfText)

        var added: [AddedToken] = []
        func add(_ content: String, normalized: Bool) throws {
            guard !added.contains(where: { $0.content == content }) else { return }
            guard let id = vocabulary[content] else { throw TokenizerError.unknownSpecialToken(content) }
            added.append(AddedToken(content: content, id: id, normalized: normalized))
        }
        if let decoder = config["added_tokens_decoder"] as? [String: Any] {
            for (_, entry) in decoder.sorted(by: { $0.key < $1.key }) {
                if let t = Self.addedToken(entry) { try add(t.content, normalized: t.normalized) }
            }
        }
        for name in ["bos_token", "eos_token", "unk_token", "pad_token"] {
            let fallback = name == "bos_token" ? Self.startOfText : Self.endOfText
            let t = name == "pad_token" ? pad : special(name, fallback)
            try add(t.content, normalized: t.normalized)
        }
        // Files often store a huge sentinel (1e30) here; anything from 2 up is clamped to CLIP's 77 below.
        let configPath = folder.appendingPathComponent("tokenizer_config.json").path
        let rawMaxLength = config["model_max_length"].map { ($0 as? NSNumber)?.doubleValue ?? .nan } ?? 77
        guard rawMaxLength >= 2 else {
            throw TokenizerError.badConfig(file: configPath, reason: "model_max_length must be a number of at least 2 (bos and eos)")
        }
        let maxLength = rawMaxLength >= 77 ? 77 : Int(rawMaxLength)
        try self.init(vocabulary: vocabulary, merges: merges, padToken: pad.content,
                      maxLength: min(maxLength, 77), addedTokens: added)
    }

    /// CLIP's vocabulary from its merges list: 256 byte symbols, the same with "</w>", one token per merge,
    /// then `<|startoftext|>` and `<|endoftext|>` (49408 tokens). Pads with "!" like SD 2.x.
    public static func fromCLIPMerges(_ text: String, padToken: String = "!") throws -> CLIPTokenizer {
        let merges = try clipMerges(text)
        let bytes = ByteLevel.ordered.map { String(Character($0.1)) }
        var tokens = bytes + bytes.map { $0 + "</w>" }
        tokens += merges.map { $0.0 + $0.1 }
        tokens += [startOfText, endOfText]
        let vocabulary = Dictionary(tokens.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        return try CLIPTokenizer(vocabulary: vocabulary, merges: merges, padToken: padToken)
    }

    /// The merges CLIP uses from `bpe_simple_vocab_16e6.txt`: lines 2 ... 48895 (line 1 is a header).
    public static func clipMerges(_ text: String) throws -> [(String, String)] {
        let file = "bpe_simple_vocab_16e6.txt"
        guard let newline = text.firstIndex(of: "\n") else {
            throw TokenizerError.badMerges(file: file, line: 1, reason: "no header line")
        }
        let merges = try parseMerges(String(text[text.index(after: newline)...]), file: file, limit: clipMergeCount)
        guard merges.count == clipMergeCount else {
            throw TokenizerError.badMerges(file: file, line: merges.count + 2,
                                           reason: "expected \(clipMergeCount) merges, found \(merges.count)")
        }
        return merges
    }

    /// `merges.txt`: an optional "#version" line, then "left right" per line, in rank order.
    static func parseMerges(_ text: String, file: String, limit: Int = .max) throws -> [(String, String)] {
        var merges: [(String, String)] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if merges.count == limit { break }
            if n == 0, line.hasPrefix("#version") { continue }
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            if trimmed.isEmpty { continue }
            let parts = trimmed.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.badMerges(file: file, line: n + 1, reason: "expected two symbols separated by one space")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return merges
    }

    static func readText(_ url: URL) throws -> String {
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw TokenizerError.unreadable(file: url.path, reason: error.localizedDescription)
        }
    }

    static func readJSONObject(_ url: URL) throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
                throw TokenizerError.badVocabulary(file: url.path, reason: "not a JSON object")
            }
            return object
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError.unreadable(file: url.path, reason: error.localizedDescription)
        }
    }

    static func readVocabulary(_ url: URL) throws -> [String: Int] {
        guard let object = try readJSONObject(url) else { throw TokenizerError.missingFile(url.path) }
        return try vocabulary(from: object, file: url.path)
    }

    static func vocabulary(from object: [String: Any], file: String) throws -> [String: Int] {
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(object.count)
        for (token, value) in object {
            guard let number = value as? NSNumber, let id = Int(exactly: number.doubleValue), id >= 0 else {
                throw TokenizerError.badVocabulary(file: file, reason: "id of \"\(token)\" is not a non-negative integer")
            }
            vocabulary[token] = id
        }
        return vocabulary
    }

    /// `tokenizer.json` (the `tokenizers` format): model.vocab and model.merges ("a b" strings or [a, b] pairs).
    static func readFastTokenizer(_ url: URL) throws -> ([String: Int], [(String, String)]) {
        guard let root = try readJSONObject(url), let model = root["model"] as? [String: Any],
              let vocab = model["vocab"] as? [String: Any], let rawMerges = model["merges"] as? [Any]
        else {
            throw TokenizerError.badVocabulary(file: url.path, reason: "no BPE model.vocab / model.merges")
        }
        var merges: [(String, String)] = []
        for (n, entry) in rawMerges.enumerated() {
            if let s = entry as? String, let m = try parseMerges(s, file: url.path).first {
                merges.append(m)
            } else if let pair = entry as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw TokenizerError.badMerges(file: url.path, line: n + 1, reason: "merge is neither \"a b\" nor [a, b]")
            }
        }
        return (try vocabulary(from: vocab, file: url.path), merges)
    }

    /// A special token as tokenizer configs write it: a string, or {"content": ..., "normalized": ...}.
    static func addedToken(_ value: Any?) -> (content: String, normalized: Bool)? {
        if let s = value as? String { return (s, false) }
        if let d = value as? [String: Any], let content = d["content"] as? String {
            return (content, (d["normalized"] as? Bool) ?? false)
        }
        return nil
    }
}

extension CLIPTokenizer {
    /// Refuses a tokenizer whose ids or length the text encoder cannot take: every id must index its token
    /// embedding and `maxLength` must fit its position embedding. `folder` names the tokenizer in the error.
    public func check(vocabSize: Int, maxPositionEmbeddings: Int, folder: String) throws {
        if let largest = vocabulary.values.max(), largest >= vocabSize {
            throw TokenizerError.badConfig(
                file: folder, reason: "token id \(largest) is not below the text encoder's vocab_size \(vocabSize)")
        }
        if maxLength > maxPositionEmbeddings {
            throw TokenizerError.badConfig(
                file: folder,
                reason: "model_max_length \(maxLength) exceeds the text encoder's max_position_embeddings \(maxPositionEmbeddings)")
        }
    }
}
