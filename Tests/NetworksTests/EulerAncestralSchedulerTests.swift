// Expected values: Scripts/fixtures/make_diffusion_fixtures.py (diffusers 0.42.1 EulerAncestralDiscreteScheduler).
import Foundation
import TensorCore
import XCTest
@testable import Networks

final class EulerAncestralSchedulerTests: XCTestCase {
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
        let noise: [[Float]]
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

    // Float32 steps with sigmas up to 14.6: the model output is scaled by sigma into samples of magnitude ~15,
    // so errors follow the sample's size (observed worst: 8e-6 * (1 + |x|)).
    static let atol: Float = 2e-5, rtol: Float = 2e-5

    func testTrajectoriesMatchDiffusers() throws {
        let f = try Fixture.decode(File.self, "euler_ancestral.json")
        XCTAssertEqual(f.cases.count, 8)
        for c in f.cases {
            let s = try EulerAncestralScheduler(config: c.config, steps: c.steps)
            XCTAssertEqual(s.timesteps, c.all_timesteps, c.name)
            XCTAssertLessThanOrEqual(toleranceRatio(s.sigmas, c.sigmas, atol: 1e-12, rtol: 1e-6), 1, "\(c.name) sigmas")
            XCTAssertEqual(s.initNoiseSigma, c.init_noise_sigma, accuracy: 1e-5 * c.init_noise_sigma, c.name)
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
                let input = s.scaleModelInput(x, at: step)
                assertClose(input, c.model_inputs[k], atol: Self.atol, rtol: Self.rtol, "\(c.name) model input \(k)")
                let output = 0.1 * input + Tensor(shape: f.shape, scalars: c.r[k])
                let last = step.index == s.timesteps.count - 1
                XCTAssertEqual(s.needsNoise(at: step), !last, c.name)
                let out = s.step(output, at: step, sample: x, noise: Tensor(shape: f.shape, scalars: c.noise[k]))
                assertClose(out.predOriginalSample, c.pred_original[k], atol: Self.atol, rtol: Self.rtol, "\(c.name) x0 \(k)")
                assertClose(out.prevSample, c.samples[k], atol: Self.atol, rtol: Self.rtol, "\(c.name) step \(k)")
                x = out.prevSample
            }
        }
    }

    func testSingleStepTurboReturnsPredictedClean() throws {
        let s = try EulerAncestralScheduler(config: .sdTurbo, steps: 1)
        XCTAssertEqual(s.timesteps, [999])
        var rng = GaussianNoise(seed: 7)
        let x = s.initNoiseSigma * rng.tensor(shape: [1, 4, 4, 4])
        let eps = rng.tensor(shape: [1, 4, 4, 4])
        let step = try XCTUnwrap(s.steps.first)
        XCTAssertFalse(s.needsNoise(at: step))
        let out = s.step(eps, at: step, sample: x, noise: nil)
        XCTAssertEqual(out.prevSample.scalars, out.predOriginalSample.scalars)
    }

    /// Whatever noise the ancestral steps add, an x0-oracle's last step (sigma_to = 0) returns x0.
    func testOracleModelEndsOnCleanSample() throws {
        var rng = GaussianNoise(seed: 2)
        let clean = rng.tensor(shape: [1, 4, 3, 3])
        let s = try EulerAncestralScheduler(config: .sdTurbo, steps: 4)
        var x = s.initNoiseSigma * rng.tensor(shape: clean.shape)
        for step in s.steps {
            let eps = (x - clean) / s.sigmas[step.index]
            x = s.step(eps, at: step, sample: x, rng: &rng).prevSample
        }
        assertClose(x, clean.scalars, atol: 1e-5, rtol: 1e-5, "oracle")
    }

    func testRejectsSamplePrediction() {
        var c = SchedulerConfig.sdTurbo
        c.predictionType = .sample
        XCTAssertThrowsError(try EulerAncestralScheduler(config: c, steps: 2)) {
            XCTAssertEqual($0 as? SchedulerError, .unsupportedPrediction(.sample, scheduler: "EulerAncestralScheduler"))
        }
    }
}
