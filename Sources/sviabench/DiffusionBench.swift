import Foundation
import Networks
import TensorCore

/// `sviabench diffusion CASE...`: the SD2 networks at full size with random weights (the real SD2-inpainting
/// configurations, no checkpoint needed). Scripts/bench/diffusion.sh runs each case in its own process, so
/// `peak_rss_mb` is that case's peak, and adds diffusion_torch.py's timings of the same models.
enum DiffusionBench {
    static let cases = ["text_encoder_77tok_b2", "unet_64x64_b2", "unet_128x64_b2", "vae_encode_512x512",
                        "vae_decode_512x512", "vae_encode_1024x512", "vae_decode_1024x512"]

    /// `vae_decode_1920x1080_tiled` also exists (one full-HD frame through diffusers-style tiling); it is slow.
    static func run(_ args: [String]) throws {
        BLAS.threads = BLAS.standaloneThreads
        var state: UInt64 = 0xD1FF
        func random(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape) { p in
                for i in 0..<p.count {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    p[i] = Float(Int32(truncatingIfNeeded: state >> 32)) / Float(1 << 31)
                }
            }
        }
        for name in args.isEmpty ? cases : args {
            let body: () -> Void
            let loadSeconds: Double
            var built: (() -> Void)?
            loadSeconds = try Measure.seconds {
                switch name {
                case "text_encoder_77tok_b2":
                    let model = try CLIPTextEncoder(config: .openCLIPViTH, weights: WeightStore(randomSeed: 1, component: "text_encoder"))
                    let ids = (0..<2).map { b in (0..<77).map { ($0 * 37 + b * 11) % 49408 } }
                    built = { _ = model(ids) }
                case "unet_64x64_b2", "unet_128x64_b2":
                    let unet = try UNet2DCondition(config: .sd2Inpainting, weights: WeightStore(randomSeed: 2, component: "unet"))
                    let w = name == "unet_64x64_b2" ? 64 : 128
                    let x = random([2, 9, 64, w]), context = random([2, 77, 1024])
                    built = { _ = unet(x, timestep: 501, context: context) }
                case "vae_decode_1920x1080_tiled":
                    // Not in the default list (15 tiles of 512x512): shows that memory stays at one tile's.
                    let vae = try AutoencoderKL(config: .sd2Inpainting, weights: WeightStore(randomSeed: 3, component: "vae"),
                                                tiling: VAETiling(config: .sd2Inpainting))
                    let latents = random([1, 4, 135, 240])
                    built = { _ = vae.decode(latents) }
                default:
                    let parts = name.split(separator: "_")  // vae_{encode,decode}_WxH
                    let size = parts[2].split(separator: "x").compactMap { Int($0) }
                    let vae = try AutoencoderKL(config: .sd2Inpainting, weights: WeightStore(randomSeed: 3, component: "vae"))
                    if parts[1] == "encode" {
                        let image = random([1, 3, size[1], size[0]])
                        built = { _ = vae.encodeMoments(image) }
                    } else {
                        let latents = random([1, 4, size[1] / 8, size[0] / 8])
                        built = { _ = vae.decode(latents) }
                    }
                }
            }
            body = built!
            let cpu0 = processCPUSeconds()
            let seconds = Measure.median(runs: 3, warmup: 1, body)
            // CPU seconds per run: steadier than wall time when other work loads the machine.
            let cpu = (processCPUSeconds() - cpu0) / 4
            BenchLine(area: "diffusion", caseName: name, sviaSeconds: seconds,
                      extra: [("cpu_s", String(format: "%.4f", cpu)), ("build_s", String(format: "%.2f", loadSeconds)),
                              ("threads", "\(ThreadPool.workers)")]).emit()
        }
    }
}

/// User plus system CPU seconds of this process so far.
private func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
}
