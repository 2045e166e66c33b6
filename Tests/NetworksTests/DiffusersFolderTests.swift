import Foundation
import XCTest
@testable import Networks

final class DiffusersFolderTests: XCTestCase {
    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("svia-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: temp)
    }

    func write(_ path: String, _ text: String = "x", in base: URL? = nil) throws {
        let url = (base ?? temp).appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// A pipeline folder laid out as stabilityai/stable-diffusion-2-inpainting, with configs diffusers wrote.
    func makePipeline(at root: URL) throws {
        let configs = "configs/stable-diffusion-2-inpainting/"
        try write("model_index.json", String(decoding: Fixture.data(configs + "model_index.json"), as: UTF8.self), in: root)
        try write("unet/config.json", String(decoding: Fixture.data(configs + "unet.json"), as: UTF8.self), in: root)
        try write("vae/config.json", String(decoding: Fixture.data(configs + "vae.json"), as: UTF8.self), in: root)
        try write("text_encoder/config.json", String(decoding: Fixture.data(configs + "text_encoder.json"), as: UTF8.self), in: root)
        try write("scheduler/scheduler_config.json", String(decoding: Fixture.data(configs + "scheduler.json"), as: UTF8.self), in: root)
        try write("unet/diffusion_pytorch_model.safetensors", in: root)
        try write("unet/diffusion_pytorch_model.fp16.safetensors", in: root)
        try write("vae/diffusion_pytorch_model.fp16.safetensors", in: root)
        try write("text_encoder/model.safetensors", in: root)
    }

    func testLocatesConfigsAndWeights() throws {
        try makePipeline(at: temp)
        let folder = try DiffusersFolder(temp)
        XCTAssertEqual(folder.index.className, "StableDiffusionInpaintPipeline")
        XCTAssertEqual(try folder.unetConfig(), .sd2Inpainting)
        XCTAssertEqual(try folder.vaeConfig(), .sd2Inpainting)
        XCTAssertEqual(try folder.textEncoderConfig(), .openCLIPViTH)
        XCTAssertEqual(try folder.schedulerConfig(), .sd2Inpainting)

        let unet = try folder.weights("unet")
        XCTAssertEqual(unet.files.map(\.lastPathComponent), ["diffusion_pytorch_model.safetensors"])
        XCTAssertNil(unet.variant)
        XCTAssertEqual(try folder.weights("unet", variant: .fp16).files.map(\.lastPathComponent),
                       ["diffusion_pytorch_model.fp16.safetensors"])
        let vae = try folder.weights("vae")
        XCTAssertEqual(vae.variant, "fp16", "falls back to the fp16 variant")
        XCTAssertThrowsError(try folder.weights("vae", variant: .standard))
        XCTAssertEqual(try folder.weights("text_encoder").files.map(\.lastPathComponent), ["model.safetensors"])
        XCTAssertThrowsError(try folder.weights("tokenizer")) {
            XCTAssertEqual($0 as? DiffusersFolderError,
                           .missingComponent(component: "tokenizer", path: self.temp.appendingPathComponent("tokenizer").path))
        }
    }

    func testShardedWeights() throws {
        try makePipeline(at: temp)
        try FileManager.default.removeItem(at: temp.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"))
        try FileManager.default.removeItem(at: temp.appendingPathComponent("unet/diffusion_pytorch_model.fp16.safetensors"))
        let index = """
        {"metadata": {"total_size": 8}, "weight_map": {
          "conv_in.weight": "diffusion_pytorch_model-00001-of-00002.safetensors",
          "down_blocks.0.x": "diffusion_pytorch_model-00001-of-00002.safetensors",
          "up_blocks.0.x": "diffusion_pytorch_model-00002-of-00002.safetensors"}}
        """
        try write("unet/diffusion_pytorch_model.safetensors.index.json", index)
        try write("unet/diffusion_pytorch_model-00001-of-00002.safetensors")
        let folder = try DiffusersFolder(temp)
        XCTAssertThrowsError(try folder.weights("unet")) {
            guard case .missingShard(_, "diffusion_pytorch_model-00002-of-00002.safetensors")? = $0 as? DiffusersFolderError else {
                return XCTFail("\($0)")
            }
        }
        try write("unet/diffusion_pytorch_model-00002-of-00002.safetensors")
        let w = try folder.weights("unet")
        XCTAssertEqual(w.files.map(\.lastPathComponent), ["diffusion_pytorch_model-00001-of-00002.safetensors",
                                                          "diffusion_pytorch_model-00002-of-00002.safetensors"])
        XCTAssertEqual(w.index?.lastPathComponent, "diffusion_pytorch_model.safetensors.index.json")

        try write("unet/diffusion_pytorch_model.safetensors.index.json", #"{"weight_map": {"a": "../../secret.safetensors"}}"#)
        XCTAssertThrowsError(try folder.weights("unet")) {
            guard case .badShardIndex? = $0 as? DiffusersFolderError else { return XCTFail("\($0)") }
        }
    }

    func testRefusesPickles() throws {
        try makePipeline(at: temp)
        try write("safety_checker/pytorch_model.bin")
        try write("safety_checker/config.json", "{}")
        let folder = try DiffusersFolder(temp)
        XCTAssertThrowsError(try folder.weights("safety_checker")) { error in
            XCTAssertEqual(error as? DiffusersFolderError, .pickleOnly(component: "safety_checker", files: ["pytorch_model.bin"]))
            XCTAssertTrue("\(error)".contains("never loaded"))
        }
    }

    func testNotAPipeline() throws {
        XCTAssertThrowsError(try DiffusersFolder(temp)) {
            XCTAssertEqual($0 as? DiffusersFolderError, .missingModelIndex(self.temp.path))
        }
        XCTAssertThrowsError(try DiffusersFolder(temp.appendingPathComponent("nope"))) {
            guard case .notAFolder? = $0 as? DiffusersFolderError else { return XCTFail("\($0)") }
        }
    }

    func testHubDirectoryFromEnvironment() {
        XCTAssertEqual(HuggingFaceCache.hubDirectory(environment: ["HF_HUB_CACHE": "/a/hub", "HF_HOME": "/b"]).path, "/a/hub")
        XCTAssertEqual(HuggingFaceCache.hubDirectory(environment: ["HF_HOME": "/b"]).path, "/b/hub")
        XCTAssertEqual(HuggingFaceCache.hubDirectory(environment: ["HF_HOME": "", "HOME": "/home/u"]).path,
                       "/home/u/.cache/huggingface/hub")
        XCTAssertEqual(HuggingFaceCache.hubDirectory(environment: ["XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"]).path,
                       "/xdg/huggingface/hub")
    }

    func testResolvesCacheSnapshotThroughRefs() throws {
        let hub = temp.appendingPathComponent("hub")
        let repo = "models--stabilityai--stable-diffusion-2-inpainting"
        let commit = "81a84f49b15956b60b4272a405ad3daef3da4590"
        try write("\(repo)/refs/main", commit + "\n", in: hub)
        try makePipeline(at: hub.appendingPathComponent("\(repo)/snapshots/\(commit)"))

        let folder = try DiffusersFolder(repository: "stabilityai/stable-diffusion-2-inpainting",
                                         environment: ["HF_HUB_CACHE": hub.path])
        XCTAssertEqual(folder.root.lastPathComponent, commit)
        XCTAssertEqual(try folder.unetConfig().inChannels, 9)
        XCTAssertEqual(try HuggingFaceCache.snapshot(repository: "stabilityai/stable-diffusion-2-inpainting",
                                                     revision: commit, hub: hub).lastPathComponent, commit)
        XCTAssertThrowsError(try HuggingFaceCache.snapshot(repository: "stabilityai/sd-turbo", hub: hub)) {
            XCTAssertEqual($0 as? DiffusersFolderError, .notInCache(repository: "stabilityai/sd-turbo", hub: hub.path))
        }
        XCTAssertThrowsError(try HuggingFaceCache.snapshot(
            repository: "stabilityai/stable-diffusion-2-inpainting", revision: "fp16", hub: hub)) {
            guard case .missingRef(_, "fp16", _)? = $0 as? DiffusersFolderError else { return XCTFail("\($0)") }
        }
    }
}
