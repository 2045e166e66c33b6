// Expected configurations: Tests/NetworksTests/Fixtures/diffusion/configs, saved by diffusers 0.42.1 /
// transformers 5.23.0 themselves (Scripts/fixtures/make_diffusion_fixtures.py).
import Foundation
import XCTest
@testable import Networks

final class DiffusionConfigTests: XCTestCase {
    /// JSON values compared as diffusers means them: null equals absent, numbers by value.
    static func same(_ a: Any?, _ b: Any?) -> Bool {
        switch (a, b) {
        case (nil, nil), (nil, is NSNull), (is NSNull, nil), (is NSNull, is NSNull):
            return true
        case let (x as String, y as String):
            return x == y
        case let (x as [Any], y as [Any]):
            return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case let (x as [String: Any], y as [String: Any]):
            return Set(x.keys) == Set(y.keys) && x.keys.allSatisfy { same(x[$0], y[$0]) }
        case let (x as NSNumber, y as NSNumber):
            return x.doubleValue == y.doubleValue
        default:
            return false
        }
    }

    /// The keys of diffusers' file whose value the preset does not have.
    func mismatches<T: Encodable>(_ preset: T, _ file: String, ignoring: Set<String> = []) throws -> [String] {
        let expected = try Fixture.json("configs/" + file)
        let encoded = try XCTUnwrap(JSONSerialization.jsonObject(with: DiffusionConfig.encode(preset)) as? [String: Any])
        let keys = expected.keys.filter { !$0.hasPrefix("_") && !ignoring.contains($0) }
        XCTAssertGreaterThan(keys.count, 5, file)
        return keys.filter { !Self.same(encoded[$0], expected[$0]) }.sorted()
    }

    /// Every key diffusers wrote has the preset's value, and decoding the file gives the preset back.
    func check<T: Codable & Equatable>(_ preset: T, _ file: String, decodes: Bool = true, ignoring: Set<String> = [],
                                       line: UInt = #line) throws {
        XCTAssertEqual(try mismatches(preset, file, ignoring: ignoring), [], file, line: line)
        if decodes {
            let decoded = try DiffusionConfig.decode(T.self, from: Fixture.data("configs/" + file), file: file)
            XCTAssertEqual(decoded, preset, file, line: line)
        }
    }

    let textIgnored: Set<String> = ["model_type", "transformers_version"]

    func testStableDiffusion2InpaintingPreset() throws {
        let p = StableDiffusionPreset.sd2Inpainting
        try check(p.unet, "stable-diffusion-2-inpainting/unet.json")
        try check(p.vae, "stable-diffusion-2-inpainting/vae.json")
        try check(p.textEncoder, "stable-diffusion-2-inpainting/text_encoder.json", ignoring: textIgnored)
        try check(p.scheduler, "stable-diffusion-2-inpainting/scheduler.json")
        try check(p.scheduler.with(className: "DDIMScheduler"), "stable-diffusion-2-inpainting/scheduler_runtime.json")
        XCTAssertEqual(p.unet.inChannels, 9)
        XCTAssertEqual(p.unet.headsPerBlock, [5, 10, 20, 20])
        XCTAssertEqual(p.vaeScaleFactor, 8)
        XCTAssertEqual(p.defaultImageSize, 512)
    }

    func testStableDiffusion2Preset() throws {
        let p = StableDiffusionPreset.sd2
        try check(p.unet, "stable-diffusion-2/unet.json")
        try check(p.vae, "stable-diffusion-2/vae.json")
        try check(p.textEncoder, "stable-diffusion-2/text_encoder.json", ignoring: textIgnored)
        try check(p.scheduler, "stable-diffusion-2/scheduler.json")
        try check(p.scheduler.with(className: "DDIMScheduler"), "stable-diffusion-2/scheduler_runtime.json")
        XCTAssertEqual(p.scheduler.predictionType, .vPrediction)
        XCTAssertEqual(p.defaultImageSize, 768)
    }

    func testSDTurboPreset() throws {
        let p = StableDiffusionPreset.sdTurbo
        try check(p.unet, "sd-turbo/unet.json")
        try check(p.vae, "sd-turbo/vae.json")
        try check(p.textEncoder, "sd-turbo/text_encoder.json", ignoring: textIgnored)
        try check(p.scheduler, "sd-turbo/scheduler.json")
        // EulerAncestralDiscreteScheduler.from_config drops the Euler-only keys, so only key-by-key here.
        try check(p.scheduler.with(className: "EulerAncestralDiscreteScheduler"), "sd-turbo/scheduler_runtime.json",
                  decodes: false)
        XCTAssertEqual(p.scheduler.timestepSpacing, .trailing)
    }

    func testKeyComparisonSeesDifferences() throws {
        XCTAssertEqual(try mismatches(UNet2DConditionConfig.sd2, "stable-diffusion-2-inpainting/unet.json"),
                       ["in_channels", "sample_size"])
        XCTAssertEqual(try mismatches(SchedulerConfig.sd2, "stable-diffusion-2-inpainting/scheduler.json"),
                       ["prediction_type"])
    }

    func testTAESDPreset() throws {
        var taesd = AutoencoderTinyConfig.taesd
        taesd.blockOutChannels = [64, 64, 64, 64]
        try check(taesd, "taesd/vae.json")
    }

    func testEmptyConfigTakesTheClassDefaults() throws {
        let empty = Data("{}".utf8)
        try check(DiffusionConfig.decode(UNet2DConditionConfig.self, from: empty, file: "{}"), "defaults/unet.json")
        try check(DiffusionConfig.decode(AutoencoderKLConfig.self, from: empty, file: "{}"), "defaults/vae.json")
        var tiny = try DiffusionConfig.decode(AutoencoderTinyConfig.self, from: empty, file: "{}")
        tiny.blockOutChannels = tiny.encoderBlockOutChannels
        try check(tiny, "defaults/taesd.json")
        try check(DiffusionConfig.decode(CLIPTextConfig.self, from: empty, file: "{}"), "defaults/text_encoder.json",
                  ignoring: textIgnored)
        let scheduler = try DiffusionConfig.decode(SchedulerConfig.self, from: empty, file: "{}")
        try check(scheduler, "defaults/scheduler_ddim.json", decodes: false, ignoring: ["timestep_spacing"])
        try check(scheduler, "defaults/scheduler_euler_ancestral.json", decodes: false, ignoring: ["timestep_spacing"])
        // The spacing default is per class.
        XCTAssertEqual(try DDIMScheduler(config: scheduler, steps: 4).integerTimesteps, [750, 500, 250, 0])
        XCTAssertEqual(try EulerAncestralScheduler(config: scheduler, steps: 4).timesteps, [999, 666, 333, 0])
    }

    /// unet/config.json as stabilityai/stable-diffusion-2-inpainting shipped it (diffusers 0.10.2, fewer keys).
    func testShippedInpaintingUNetConfigDecodesToPreset() throws {
        let shipped = """
        {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.10.2", "act_fn": "silu",
         "attention_head_dim": [5, 10, 20, 20], "block_out_channels": [320, 640, 1280, 1280],
         "center_input_sample": false, "cross_attention_dim": 1024,
         "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
         "downsample_padding": 1, "dual_cross_attention": false, "flip_sin_to_cos": true, "freq_shift": 0,
         "in_channels": 9, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
         "norm_num_groups": 32, "num_class_embeds": null, "only_cross_attention": false, "out_channels": 4,
         "sample_size": 64, "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
         "upcast_attention": false, "use_linear_projection": true, "some_future_key": {"nested": [1, 2]}}
        """
        let c = try DiffusionConfig.decode(UNet2DConditionConfig.self, from: Data(shipped.utf8), file: "unet/config.json")
        XCTAssertEqual(c, .sd2Inpainting)
    }

    func testShippedSchedulerConfigsAndVelocityAlias() throws {
        let sd2 = """
        {"_class_name": "PNDMScheduler", "_diffusers_version": "0.8.0", "beta_end": 0.012,
         "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "num_train_timesteps": 1000,
         "prediction_type": "velocity", "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1,
         "trained_betas": null}
        """
        var c = try DiffusionConfig.decode(SchedulerConfig.self, from: Data(sd2.utf8), file: "scheduler_config.json")
        XCTAssertEqual(c.predictionType, .vPrediction)
        XCTAssertNil(c.timestepSpacing)
        c.timestepSpacing = .leading
        XCTAssertEqual(c, .sd2)
    }

    func testWrongTypesNameFileAndKey() {
        func error<T: Decodable>(_ type: T.Type, _ json: String) -> ConfigError? {
            do {
                _ = try DiffusionConfig.decode(type, from: Data(json.utf8), file: "unet/config.json")
                return nil
            } catch {
                return error as? ConfigError
            }
        }
        XCTAssertEqual(error(UNet2DConditionConfig.self, #"{"in_channels": "nine"}"#),
                       .wrongType(file: "unet/config.json", key: "in_channels", expected: "an integer"))
        XCTAssertEqual(error(UNet2DConditionConfig.self, #"{"block_out_channels": [320, "x"]}"#),
                       .wrongType(file: "unet/config.json", key: "block_out_channels[1]", expected: "an integer"))
        XCTAssertEqual(error(UNet2DConditionConfig.self, #"{"attention_head_dim": "8"}"#),
                       .wrongType(file: "unet/config.json", key: "attention_head_dim", expected: "an integer"))
        XCTAssertEqual(error(CLIPTextConfig.self, #"{"layer_norm_eps": true}"#),
                       .wrongType(file: "unet/config.json", key: "layer_norm_eps", expected: "a number"))
        guard case let .invalidValue(file, key, _)? = error(SchedulerConfig.self, #"{"beta_schedule": "cosine"}"#) else {
            return XCTFail("unknown enum value should be an invalid value")
        }
        XCTAssertEqual([file, key], ["unet/config.json", "beta_schedule"])
        guard case .invalidValue(_, "prediction_type", _)? = error(SchedulerConfig.self, #"{"prediction_type": "x"}"#) else {
            return XCTFail("unknown prediction type should be an invalid value")
        }
        guard case .notJSON("unet/config.json", _)? = error(UNet2DConditionConfig.self, "{in_channels: 4") else {
            return XCTFail("broken JSON should say so")
        }
        XCTAssertEqual(error(ModelIndex.self, #"{"unet": ["diffusers", "UNet2DConditionModel"]}"#),
                       .missingKey(file: "unet/config.json", key: "_class_name"))
    }

    func testUnreadableFile() {
        let url = URL(fileURLWithPath: "/nonexistent/svia/config.json")
        XCTAssertThrowsError(try DiffusionConfig.load(UNet2DConditionConfig.self, from: url)) {
            guard case .unreadable("/nonexistent/svia/config.json", _)? = $0 as? ConfigError else {
                return XCTFail("\($0)")
            }
        }
    }

    func testModelIndex() throws {
        let index = try DiffusionConfig.load(
            ModelIndex.self, from: Fixture.url("configs/stable-diffusion-2-inpainting/model_index.json"))
        XCTAssertEqual(index.className, "StableDiffusionInpaintPipeline")
        XCTAssertEqual(index.components["unet"], .init(library: "diffusers", className: "UNet2DConditionModel"))
        XCTAssertEqual(index.components["text_encoder"]?.className, "CLIPTextModel")
        XCTAssertEqual(index.components["scheduler"]?.className, "PNDMScheduler")
        XCTAssertEqual(index.components["safety_checker"]?.isPresent, false)
        XCTAssertEqual(index.flags["requires_safety_checker"], false)
        let again = try JSONDecoder().decode(ModelIndex.self, from: DiffusionConfig.encode(index))
        XCTAssertEqual(again, index)
    }
}
