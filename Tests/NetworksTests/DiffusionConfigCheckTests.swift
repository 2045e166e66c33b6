import Foundation
import Testing
@testable import Networks

/// Model config.json values are range-checked when loaded: negative, zero or absurd channel counts and
/// inconsistent group or head counts are `ConfigError.invalidValue` naming the file and key.
@Suite struct DiffusionConfigCheckTests {
    static let tiny = TestSupport.fixtures.appendingPathComponent("diffusion/tiny")

    /// Writes the fixture's config with `key` set to `value` and loads it as `T`.
    static func load<T: Decodable>(_ type: T.Type, _ component: String, _ key: String, _ value: Any) throws -> T {
        let source = tiny.appendingPathComponent(component).appendingPathComponent("config.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as! [String: Any]
        object[key] = value
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("svia-cfg-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        return try DiffusionConfig.load(type, from: url)
    }

    static func refused<T: Decodable>(_ type: T.Type, _ component: String, _ key: String, _ value: Any) -> Bool {
        do {
            _ = try load(type, component, key, value)
            return false
        } catch ConfigError.invalidValue(let file, let k, _) {
            return file.hasSuffix("config.json") && k.hasPrefix(key)
        } catch {
            return false
        }
    }

    @Test func fixturesPassTheChecks() throws {
        _ = try DiffusionConfig.load(UNet2DConditionConfig.self, from: Self.tiny.appendingPathComponent("unet_v/config.json"))
        _ = try DiffusionConfig.load(UNet2DConditionConfig.self, from: Self.tiny.appendingPathComponent("unet_inpaint/config.json"))
        _ = try DiffusionConfig.load(AutoencoderKLConfig.self, from: Self.tiny.appendingPathComponent("vae/config.json"))
        _ = try DiffusionConfig.load(AutoencoderTinyConfig.self, from: Self.tiny.appendingPathComponent("vae_tiny/config.json"))
        _ = try DiffusionConfig.load(CLIPTextConfig.self, from: Self.tiny.appendingPathComponent("text_encoder/config.json"))
    }

    @Test func absurdValuesAreRefused() {
        #expect(Self.refused(UNet2DConditionConfig.self, "unet_v", "in_channels", -4))
        #expect(Self.refused(UNet2DConditionConfig.self, "unet_v", "block_out_channels", [32, 1 << 40]))
        #expect(Self.refused(UNet2DConditionConfig.self, "unet_v", "norm_num_groups", 0))
        #expect(Self.refused(UNet2DConditionConfig.self, "unet_v", "norm_num_groups", 7))
        #expect(Self.refused(UNet2DConditionConfig.self, "unet_v", "layers_per_block", 0))
        #expect(Self.refused(AutoencoderKLConfig.self, "vae", "latent_channels", 0))
        #expect(Self.refused(AutoencoderKLConfig.self, "vae", "block_out_channels", [-32]))
        #expect(Self.refused(AutoencoderTinyConfig.self, "vae_tiny", "latent_channels", 1_000_000))
        #expect(Self.refused(CLIPTextConfig.self, "text_encoder", "num_attention_heads", 0))
        #expect(Self.refused(CLIPTextConfig.self, "text_encoder", "max_position_embeddings", 1))
        #expect(Self.refused(CLIPTextConfig.self, "text_encoder", "vocab_size", -1))
    }
}
