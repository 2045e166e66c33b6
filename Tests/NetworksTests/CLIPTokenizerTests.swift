// Expected ids: Scripts/fixtures/make_tokenizer_fixtures.py (transformers 5.23.0 CLIPTokenizer configured as
// stabilityai/stable-diffusion-2-inpainting's tokenizer/ folder). The vocabulary is rebuilt here from
// bpe_simple_vocab_16e6.txt.gz (open-clip-torch 3.3.0, MIT; see Fixtures/diffusion/README.md).
import Foundation
import XCTest
@testable import Networks

final class CLIPTokenizerTests: XCTestCase {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let padded: [Int]
    }

    struct File: Decodable {
        let bos: Int
        let eos: Int
        let pad: Int
        let max_length: Int
        let cases: [Case]
    }

    // Built once: reading the 1.4 MB .gz and the 49k-entry vocabulary takes seconds in debug builds.
    static let merges = Result { String(decoding: try Gunzip.decompress(Fixture.data("bpe_simple_vocab_16e6.txt.gz")), as: UTF8.self) }
    static let shared = Result { try CLIPTokenizer.fromCLIPMerges(merges.get()) }

    static func mergesText() throws -> String { try merges.get() }
    static func tokenizer() throws -> CLIPTokenizer { try shared.get() }

    func testVocabularyIsCLIPs() throws {
        let t = try Self.tokenizer()
        XCTAssertEqual(t.vocabulary.count, 49408)
        XCTAssertEqual(t.bosTokenId, 49406)
        XCTAssertEqual(t.eosTokenId, 49407)
        XCTAssertEqual(t.padTokenId, 0)
        XCTAssertEqual(t.vocabulary["!"], 0)
        XCTAssertEqual(t.vocabulary["!</w>"], 256)
        XCTAssertEqual(t.maxLength, 77)
    }

    func testIdsMatchTransformers() throws {
        let t = try Self.tokenizer()
        let f = try Fixture.decode(File.self, "tokenizer_ids.json")
        XCTAssertEqual([f.bos, f.eos, f.pad, f.max_length], [t.bosTokenId, t.eosTokenId, t.padTokenId, t.maxLength])
        XCTAssertGreaterThan(f.cases.count, 40)
        for c in f.cases {
            XCTAssertEqual(t.encode(c.text, addSpecialTokens: true), c.ids, "\(c.text.debugDescription)")
            XCTAssertEqual(t.encode(c.text), c.padded, "padded \(c.text.debugDescription)")
        }
    }

    func testTruncationKeepsEndOfText() throws {
        let t = try Self.tokenizer()
        let ids = t.encode(String(repeating: "street ", count: 100))
        XCTAssertEqual(ids.count, 77)
        XCTAssertEqual(ids.first, 49406)
        XCTAssertEqual(ids.last, 49407)
        XCTAssertEqual(Set(ids[1..<76]).count, 1)
    }

    func testLoadsDiffusersTokenizerFolder() throws {
        let t = try Self.tokenizer()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svia-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try JSONSerialization.data(withJSONObject: t.vocabulary).write(to: dir.appendingPathComponent("vocab.json"))
        let merges = try CLIPTokenizer.clipMerges(Self.mergesText())
        try ("#version: 0.2\n" + merges.map { "\($0.0) \($0.1)" }.joined(separator: "\n") + "\n")
            .write(to: dir.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
        let special = """
        {"bos_token": {"content": "<|startoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
         "eos_token": {"content": "<|endoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
         "pad_token": "!",
         "unk_token": {"content": "<|endoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false}}
        """
        try special.write(to: dir.appendingPathComponent("special_tokens_map.json"), atomically: true, encoding: .utf8)
        let config = #"{"model_max_length": 77, "pad_token": "<|endoftext|>", "do_lower_case": true}"#
        try config.write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)

        let loaded = try CLIPTokenizer(folder: dir)
        XCTAssertEqual(loaded.padTokenId, 0, "special_tokens_map.json's pad token wins, as in transformers")
        let f = try Fixture.decode(File.self, "tokenizer_ids.json")
        for c in f.cases.prefix(20) { XCTAssertEqual(loaded.encode(c.text), c.padded, c.text.debugDescription) }

        try FileManager.default.removeItem(at: dir.appendingPathComponent("merges.txt"))
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) {
            XCTAssertEqual($0 as? TokenizerError, .missingFile(dir.appendingPathComponent("vocab.json").path))
        }
    }

    /// A tokenizer.json-only folder (the `tokenizers` format), loaded through DiffusersFolder.
    func testTokenizerJSONFolder() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("svia-tokjson-\(UUID().uuidString)")
        let dir = root.appendingPathComponent("tokenizer")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let json = """
        {"model": {"type": "BPE", "end_of_word_suffix": "</w>",
          "vocab": {"!": 0, "a": 1, "b": 2, "a</w>": 3, "b</w>": 4, "ab</w>": 5, "!</w>": 6,
                    "<|startoftext|>": 7, "<|endoftext|>": 8},
          "merges": [["a", "b</w>"]]}}
        """
        try json.write(to: dir.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        try #"{"pad_token": "!"}"#.write(to: dir.appendingPathComponent("special_tokens_map.json"), atomically: true, encoding: .utf8)
        try #"{"_class_name": "StableDiffusionPipeline", "tokenizer": ["transformers", "CLIPTokenizer"]}"#
            .write(to: root.appendingPathComponent("model_index.json"), atomically: true, encoding: .utf8)
        let t = try DiffusersFolder(root).tokenizer()
        XCTAssertEqual(t.encode("AB b!", addSpecialTokens: true), [7, 5, 4, 0, 8])
        XCTAssertEqual(Array(t.encode("ab").prefix(5)), [7, 5, 8, 0, 0])
    }

    func testMalformedMergesNameTheLine() {
        XCTAssertThrowsError(try CLIPTokenizer.parseMerges("#version: 0.2\na b\nabc\n", file: "merges.txt")) {
            XCTAssertEqual($0 as? TokenizerError, .badMerges(file: "merges.txt", line: 3, reason: "expected two symbols separated by one space"))
        }
    }

    func testDecodeRoundTrip() throws {
        let t = try Self.tokenizer()
        let text = "masterpiece, realistic, cityscapes, street, car, no_humans"
        XCTAssertEqual(t.decode(t.encode(text)), "masterpiece , realistic , cityscapes , street , car , no _ humans")
        XCTAssertEqual(t.tokenize("a photo"), ["a</w>", "photo</w>"])
    }
}
