import Foundation
import Testing
@testable import Networks

/// Tokenizer files are validated before use: lengths that leave no room for bos and eos, ids that are
/// not non-negative integers, and ids or lengths the text encoder cannot take are typed errors.
@Suite struct TokenizerValidationTests {
    static let tokenizer = TestSupport.fixtures.appendingPathComponent("diffusion/tiny/tokenizer")

    /// A copy of the tiny tokenizer folder with `edit` applied to one JSON file's object.
    static func copy(editing file: String, _ edit: (inout [String: Any]) -> Void) throws -> URL {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("svia-tok-" + UUID().uuidString)
        try FileManager.default.copyItem(at: tokenizer, to: dir)
        let url = dir.appendingPathComponent(file)
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        return dir
    }

    @Test func modelMaxLengthBelowTwoIsRefused() throws {
        for value: Any in [1, 0, -5, "77", NSNull()] {
            let dir = try Self.copy(editing: "tokenizer_config.json") { $0["model_max_length"] = value }
            defer { try? FileManager.default.removeItem(at: dir) }
            #expect {
                try CLIPTokenizer(folder: dir)
            } throws: { error in
                guard case TokenizerError.badConfig(let file, _)? = error as? TokenizerError else { return false }
                return file.hasSuffix("tokenizer_config.json")
            }
        }
        // A huge sentinel, as many published files hold, is clamped to 77.
        let dir = try Self.copy(editing: "tokenizer_config.json") { $0["model_max_length"] = 1e30 }
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try CLIPTokenizer(folder: dir).maxLength == 77)
    }

    @Test func negativeOrFractionalIdsAreRefused() throws {
        for value: Any in [-1, 2.5, 1e30] {
            let dir = try Self.copy(editing: "vocab.json") { $0["a</w>"] = value }
            defer { try? FileManager.default.removeItem(at: dir) }
            #expect(throws: TokenizerError.self) { try CLIPTokenizer(folder: dir) }
        }
    }

    @Test func idsAndLengthMustFitTheTextEncoder() throws {
        let t = try CLIPTokenizer(folder: Self.tokenizer)
        let largest = t.vocabulary.values.max()!
        try t.check(vocabSize: largest + 1, maxPositionEmbeddings: 77, folder: "tok")
        #expect(throws: TokenizerError.badConfig(
            file: "tok", reason: "token id \(largest) is not below the text encoder's vocab_size \(largest)")) {
            try t.check(vocabSize: largest, maxPositionEmbeddings: 77, folder: "tok")
        }
        #expect(throws: TokenizerError.self) { try t.check(vocabSize: largest + 1, maxPositionEmbeddings: 16, folder: "tok") }
    }
}
