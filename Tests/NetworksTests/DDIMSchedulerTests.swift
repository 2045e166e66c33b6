// Expected values: Scripts/fixtures/make_diffusion_fixtures.py (diffusers 0.42.1 DDIMScheduler, torch 2.15.0).
import Foundation
import TensorCore
import XCTest
@testable import Networks

final class DDIMSchedulerTests: XCTestCase {
    struct Case: Decodable {
        let name: String
        let config: SchedulerConfig
        let steps: Int
        let eta: Float
        let all_timesteps: [Int]
        let timesteps: [Int]
        let initial_sample: [Float]
        let r: [[Float]]
        let noise: [[Float]]
        let samples: [[Float]]
        let pred_original: [[Float]]
        let strength: Double?
        let start_index: Int?
        let clean: [Float]?
        let add_noise: [Float]?
    }

    struct File: Decodable {
        let shape: [Int]
        let alphas_cumprod: [Float]
        let final_alpha_cumprod: Float
        let alphas_cumprod_zero_snr: [Float]
        let cases: [Case]
    }

    // Float32 arithmetic in another order than torch's: a few ulps per step, compounded over up to 50 steps
    // through x0 = x / sqrt(alpha_bar), which amplifies by up to 1 / sqrt(0.0047) ~ 15
    // (observed worst: 6e-6 * (1 + |x|)).
    static let atol: Float = 2e-5, rtol: Float = 2e-5

    func testTrainingScheduleMatchesTorchFloat32() throws {
        let f = try Fixture.decode(File.self, "ddim_trajectories.json")
        let s = try DDIMScheduler(config: .sd2Inpainting, steps: 50)
        // Same float32 linspace and sequential cumprod as torch: equal to the last ulp or two.
        XCTAssertLessThanOrEqual(toleranceRatio(s.schedule.alphasCumprod, f.alphas_cumprod, atol: 0, rtol: 1e-6), 1)
        XCTAssertEqual(s.finalAlphaCumprod, f.final_alpha_cumprod, accuracy: 1e-7)
        var v = SchedulerConfig.sd2
        v.rescaleBetasZeroSnr = true
        let z = try DDIMScheduler(config: v, steps: 10)
        XCTAssertLessThanOrEqual(
            toleranceRatio(z.schedule.alphasCumprod, f.alphas_cumprod_zero_snr, atol: 1e-7, rtol: 1e-5), 1)
        XCTAssertEqual(z.schedule.alphasCumprod.last, 0)
    }

    func testTrajectoriesMatchDiffusers() throws {
        let f = try Fixture.decode(File.self, "ddim_trajectories.json")
        XCTAssertEqual(f.cases.count, 11)
        for c in f.cases {
            let s = try DDIMScheduler(config: c.config, steps: c.steps, eta: c.eta)
            XCTAssertEqual(s.integerTimesteps, c.all_timesteps, c.name)
            let steps = try c.strength.map { try s.steps(strength: $0) } ?? s.steps
            XCTAssertEqual(steps.map { Int($0.timestep) }, c.timesteps, c.name)
            var x: Tensor
            if let clean = c.clean, let n = c.add_noise, let first = steps.first {
                XCTAssertEqual(steps.startIndex, c.start_index, c.name)
                x = s.addNoise(Tensor(shape: f.shape, scalars: clean), noise: Tensor(shape: f.shape, scalars: n), at: first)
                assertClose(x, c.initial_sample, atol: 1e-6, rtol: 1e-6, "\(c.name) add_noise")
            }
            x = Tensor(shape: f.shape, scalars: c.initial_sample)
            for (k, step) in steps.enumerated() {
                XCTAssertEqual(step.ordinal, k)
                XCTAssertEqual(step.count, c.timesteps.count)
                let input = s.scaleModelInput(x, at: step)
                XCTAssertEqual(input.scalars, x.scalars, "DDIM leaves the input unscaled")
                let output = 0.1 * input + Tensor(shape: f.shape, scalars: c.r[k])
                XCTAssertEqual(s.needsNoise(at: step), c.eta > 0)
                let noise = c.eta > 0 ? Tensor(shape: f.shape, scalars: c.noise[k]) : nil
                let out = s.step(output, at: step, sample: x, noise: noise)
                assertClose(out.predOriginalSample, c.pred_original[k], atol: Self.atol, rtol: Self.rtol, "\(c.name) x0 step \(k)")
                assertClose(out.prevSample, c.samples[k], atol: Self.atol, rtol: Self.rtol, "\(c.name) step \(k)")
                x = out.prevSample
            }
        }
    }

    func testSVIAHarmonizerStrengthKeepsLastTenOfFifty() throws {
        let s = try DDIMScheduler(config: .sd2, steps: 50, eta: 1)
        let steps = try s.steps(strength: 0.2)
        XCTAssertEqual(steps.count, 10)
        XCTAssertEqual(steps.map { Int($0.timestep) }, [181, 161, 141, 121, 101, 81, 61, 41, 21, 1])
        XCTAssertEqual(steps.first?.index, 40)
    }

    /// diffusers 0.42.1 gives 62 timesteps for 61 trailing steps, the last being -1 (numpy arange rounding).
    func testTrailingSpacingKeepsTheRequestedCount() throws {
        var c = SchedulerConfig.sd2
        c.timestepSpacing = .trailing
        for n in [61, 103, 121, 1000] {
            let ts = try DDIMScheduler(config: c, steps: n).integerTimesteps
            XCTAssertEqual(ts.count, n)
            XCTAssertEqual(ts.first, 999)
            XCTAssertTrue(ts.allSatisfy { $0 >= 0 })
            XCTAssertEqual(try EulerAncestralScheduler(config: c, steps: n).timesteps.count, n)
        }
        XCTAssertEqual(try DDIMScheduler(config: c, steps: 61).integerTimesteps.last, 15)
    }

    func testRejectsBadArguments() throws {
        XCTAssertThrowsError(try DDIMScheduler(config: .sd2, steps: 0))
        XCTAssertThrowsError(try DDIMScheduler(config: .sd2, steps: 1001))
        var t = SchedulerConfig.sd2
        t.thresholding = true
        XCTAssertThrowsError(try DDIMScheduler(config: t, steps: 10))
        let s = try DDIMScheduler(config: .sd2, steps: 4)
        XCTAssertThrowsError(try s.steps(strength: 1.5)) { XCTAssertEqual($0 as? SchedulerError, .invalidStrength(1.5)) }
        XCTAssertThrowsError(try s.steps(strength: 0.2)) {
            XCTAssertEqual($0 as? SchedulerError, .noStepsLeft(steps: 4, strength: 0.2))
        }
    }

    /// With a network that knows x0, deterministic DDIM lands exactly on x0 (the paper's Algorithm 2 with eta 0).
    func testOracleModelRecoversCleanSample() throws {
        var rng = GaussianNoise(seed: 1)
        let clean = rng.tensor(shape: [1, 4, 3, 3])
        for prediction in [PredictionType.epsilon, .vPrediction, .sample] {
            var config = SchedulerConfig.sd2Inpainting
            config.predictionType = prediction
            config.setAlphaToOne = true
            let s = try DDIMScheduler(config: config, steps: 25)
            var x = rng.tensor(shape: clean.shape)
            for step in s.steps {
                let a = s.schedule.alphasCumprod[Int(step.timestep)]
                let eps = (x - a.squareRoot() * clean) / (1 - a).squareRoot()
                let output = switch prediction {
                case .epsilon: eps
                case .vPrediction: a.squareRoot() * eps - (1 - a).squareRoot() * clean
                case .sample: clean
                }
                x = s.step(output, at: step, sample: x, noise: nil).prevSample
            }
            assertClose(x, clean.scalars, atol: 1e-4, rtol: 1e-4, "\(prediction) oracle")
        }
    }

    func testSeededNoiseIsReproducible() throws {
        let s = try DDIMScheduler(config: .sd2Inpainting, steps: 5, eta: 1)
        func run() -> [Float] {
            var rng = GaussianNoise(seed: 19_260_817)
            var x = rng.tensor(shape: [1, 4, 8, 8])
            for step in s.steps {
                let eps = 0.5 * x
                x = s.step(eps, at: step, sample: x, rng: &rng).prevSample
            }
            return x.scalars
        }
        XCTAssertEqual(run(), run())
    }
}
