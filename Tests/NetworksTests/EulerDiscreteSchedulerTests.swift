// Expected values: Scripts/fixtures/make_diffusion_fixtures.py (diffusers 0.42.1 EulerDiscreteScheduler).
import Foundation
import TensorCore
import XCTest
@testable import Networks

final class EulerDiscreteSchedulerTests: XCTestCase {
    struct Case: Decodable {
        let name: String
        let config: SchedulerConfig
        let steps: Int
        let all_timesteps: [Double]
        let sigmas: [Float]
        let init_noise_sigma: Float
        let timesteps: [Double]
        let initial_sample: [Float]
        let r: [[Float]]
        let model_inputs: [[Float]]
        let samples: [[Float]]
        let pred_original: [[Float]]
        let unit_noise: [Float]?
        let strength: Double?
        let start_index: Int?
        let clean: [Float]?
        let add_noise: [Float]?
    }

    struct File: Decodable {
        let shape: [Int]
        let cases: [Case]
    }

    // Float32 steps; errors follow the sample's size (sigmas up to 14.6, 4096 with a zero-SNR schedule).
    static let atol: Float = 2e-5, rtol: Float = 2e-5

    func testTrajectoriesMatchDiffusers() throws {
        let f = try Fixture.decode(File.self, "euler_discrete.json")
        XCTAssertEqual(f.cases.count, 15)
        for c in f.cases {
            let s = try EulerDiscreteScheduler(config: c.config, steps: c.steps)
            XCTAssertEqual(s.timesteps, c.all_timesteps, c.name)
            // alpha_bar matches torch's float32 cumprod to an ulp or two; near t = 0, 1 - alpha_bar ~ 0.01 magnifies
            // that to a few 1e-6 of sigma.
            XCTAssertLessThanOrEqual(toleranceRatio(s.sigmas, c.sigmas, atol: 1e-12, rtol: 1e-5), 1, "\(c.name) sigmas")
            XCTAssertEqual(s.initNoiseSigma, c.init_noise_sigma, accuracy: 1e-6 * c.init_noise_sigma, c.name)
            let steps = try c.strength.map { try s.steps(strength: $0) } ?? s.steps
            XCTAssertEqual(steps.map(\.timestep), c.timesteps, c.name)
            var x: Tensor
            if let unit = c.unit_noise {
                x = s.initNoiseSigma * Tensor(shape: f.shape, scalars: unit)
            } else {
                let clean = try XCTUnwrap(c.clean), n = try XCTUnwrap(c.add_noise), first = try XCTUnwrap(steps.first)
                XCTAssertEqual(steps.startIndex, c.start_index, c.name)
                x = s.addNoise(Tensor(shape: f.shape, scalars: clean), noise: Tensor(shape: f.shape, scalars: n), at: first)
            }
            assertClose(x, c.initial_sample, atol: 1e-6, rtol: 1e-6, "\(c.name) initial sample")
            x = Tensor(shape: f.shape, scalars: c.initial_sample)
            for (k, step) in steps.enumerated() {
                XCTAssertFalse(s.needsNoise(at: step), c.name)
                let input = s.scaleModelInput(x, at: step)
                assertClose(input, c.model_inputs[k], atol: Self.atol, rtol: Self.rtol, "\(c.name) model input \(k)")
                let output = 0.1 * input + Tensor(shape: f.shape, scalars: c.r[k])
                let out = s.step(output, at: step, sample: x, noise: nil)
                assertClose(out.predOriginalSample, c.pred_original[k], atol: Self.atol, rtol: Self.rtol, "\(c.name) x0 \(k)")
                assertClose(out.prevSample, c.samples[k], atol: Self.atol, rtol: Self.rtol, "\(c.name) step \(k)")
                x = out.prevSample
            }
        }
    }

    func testTurboSchedules() throws {
        let four = try EulerDiscreteScheduler(config: .sdTurbo, steps: 4)
        XCTAssertEqual(four.timesteps, [999, 749, 499, 249])
        XCTAssertEqual(four.sigmas.count, 5)
        XCTAssertEqual(four.sigmas.last, 0)
        // strength 0.5 of 4 steps: the last two, starting at index 2 (diffusers' set_begin_index(2)).
        let half = try four.steps(strength: 0.5)
        XCTAssertEqual(half.startIndex, 2)
        XCTAssertEqual(half.map(\.timestep), [499, 249])
        for n in 1...50 {
            let s = try EulerDiscreteScheduler(config: .sdTurbo, steps: n)
            XCTAssertEqual(s.timesteps.count, n)
            XCTAssertEqual(s.timesteps.first, 999)
            XCTAssertEqual(s.sigmas.count, n + 1)
            XCTAssertEqual(s.initNoiseSigma, s.sigmas[0])
        }
    }

    func testSingleStepTurboReturnsPredictedClean() throws {
        let s = try EulerDiscreteScheduler(config: .sdTurbo, steps: 1)
        var rng = GaussianNoise(seed: 7)
        let x = s.initNoiseSigma * rng.tensor(shape: [1, 4, 4, 4])
        let eps = rng.tensor(shape: [1, 4, 4, 4])
        let out = s.step(eps, at: try XCTUnwrap(s.steps.first), sample: x, noise: nil)
        XCTAssertLessThanOrEqual(toleranceRatio(out.prevSample.scalars, out.predOriginalSample.scalars, atol: 1e-5, rtol: 1e-5), 1)
    }

    /// An x0-oracle (epsilon and v) lands on the clean sample, whatever the step count.
    func testOracleModelEndsOnCleanSample() throws {
        var rng = GaussianNoise(seed: 2)
        let clean = rng.tensor(shape: [1, 4, 3, 3])
        for prediction in [PredictionType.epsilon, .vPrediction] {
            var config = SchedulerConfig.sdTurbo
            config.predictionType = prediction
            let s = try EulerDiscreteScheduler(config: config, steps: 6)
            var x = s.initNoiseSigma * rng.tensor(shape: clean.shape)
            for step in s.steps {
                let sigma = s.sigmas[step.index]
                let eps = (x - clean) / sigma
                // v = alpha eps - sigma_t x0 in the unit-variance parametrisation: alpha = 1/sqrt(s^2+1), sigma_t = s/sqrt(s^2+1).
                let norm = (sigma * sigma + 1).squareRoot()
                let output = prediction == .epsilon ? eps : (eps - sigma * clean) / norm
                x = s.step(output, at: step, sample: x, noise: nil).prevSample
            }
            assertClose(x, clean.scalars, atol: 1e-4, rtol: 1e-4, "oracle \(prediction)")
        }
    }

    func testRejectsUnsupportedOptions() {
        func rejects(_ edit: (inout SchedulerConfig) -> Void, _ what: String) {
            var c = SchedulerConfig.sdTurbo
            edit(&c)
            XCTAssertThrowsError(try EulerDiscreteScheduler(config: c, steps: 4), what) { error in
                guard case .invalidConfiguration = error as? SchedulerError else {
                    return XCTFail("\(what): \(error)")
                }
            }
        }
        rejects({ $0.interpolationType = "log_linear" }, "log_linear")
        rejects({ $0.useKarrasSigmas = true }, "karras")
        rejects({ $0.useExponentialSigmas = true }, "exponential")
        rejects({ $0.useBetaSigmas = true }, "beta")
        rejects({ $0.finalSigmasType = "max" }, "final sigmas")
        rejects({ $0.timestepType = "continuous"; $0.predictionType = .vPrediction }, "continuous v")
        XCTAssertThrowsError(try EulerDiscreteScheduler(config: .sdTurbo, steps: 0))
        XCTAssertThrowsError(try EulerDiscreteScheduler(config: .sdTurbo, steps: 1001))
    }
}
