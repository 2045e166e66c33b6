// Expected schedules: `factory` in Fixtures/diffusion/euler_discrete.json, what diffusers 0.42.1's
// `Class.from_config(config)` builds from each of the three shipped scheduler configurations, both as the Hub files
// have them and as configs/*/scheduler.json (saved by diffusers, every key filled in).
import Foundation
import TensorCore
import XCTest
@testable import Networks

final class SchedulerFactoryTests: XCTestCase {
    struct Entry: Decodable {
        let model: String
        let source: String
        let `class`: String
        let steps: Int
        let timesteps: [Double]
        let init_noise_sigma: Float
        let prediction_type: String
        let timestep_spacing: String
    }

    struct Factory: Decodable {
        let inputs: [String: SchedulerConfig]
        let cases: [Entry]
    }

    struct File: Decodable {
        let factory: Factory
    }

    static let models = ["stable-diffusion-2-inpainting", "stable-diffusion-2", "sd-turbo"]

    static func shipped(_ model: String) throws -> SchedulerConfig {
        try JSONDecoder().decode(SchedulerConfig.self, from: Fixture.data("configs/\(model)/scheduler.json"))
    }

    static func kind(_ className: String) -> SchedulerKind {
        switch className {
        case "DDIMScheduler": .ddim(eta: 0)
        case "EulerDiscreteScheduler": .eulerDiscrete
        default: .eulerAncestral
        }
    }

    func testSchedulesMatchDiffusersFromConfig() throws {
        let f = try Fixture.decode(File.self, "euler_discrete.json")
        XCTAssertEqual(f.factory.cases.count, 3 * 2 * 3 * 4)
        XCTAssertEqual(Set(f.factory.cases.map(\.source)).count, 4)
        for e in f.factory.cases {
            let what = "\(e.source) \(e.model) \(e.class) \(e.steps)"
            let config = e.source == "hub"
                ? try XCTUnwrap(f.factory.inputs[e.model])
                : try JSONDecoder().decode(SchedulerConfig.self, from: Fixture.data(e.source))
            XCTAssertEqual(config.className, e.model == "sd-turbo" ? "EulerDiscreteScheduler" : "PNDMScheduler", what)
            let s = try SchedulerFactory.make(Self.kind(e.class), config: config, steps: e.steps)
            XCTAssertEqual(s.timesteps, e.timesteps, what)
            XCTAssertEqual(s.initNoiseSigma, e.init_noise_sigma, accuracy: 1e-6 * e.init_noise_sigma, what)
            switch s {
            case let d as DDIMScheduler:
                XCTAssertEqual(e.class, "DDIMScheduler", what)
                XCTAssertEqual(d.config.predictionType.rawValue, e.prediction_type, what)
                XCTAssertEqual(d.config.timestepSpacing ?? .leading, TimestepSpacing(rawValue: e.timestep_spacing), what)
            case let d as EulerDiscreteScheduler:
                XCTAssertEqual(e.class, "EulerDiscreteScheduler", what)
                XCTAssertEqual(d.config.predictionType.rawValue, e.prediction_type, what)
                XCTAssertEqual(d.config.timestepSpacing ?? .linspace, TimestepSpacing(rawValue: e.timestep_spacing), what)
            case let a as EulerAncestralScheduler:
                XCTAssertEqual(e.class, "EulerAncestralDiscreteScheduler", what)
                XCTAssertEqual(a.config.predictionType.rawValue, e.prediction_type, what)
            default:
                XCTFail("\(what): unexpected \(type(of: s))")
            }
        }
    }

    func testDDIMKeepsEta() throws {
        let s = try SchedulerFactory.make(.ddim(eta: 1), config: Self.shipped("stable-diffusion-2"), steps: 10)
        let d = try XCTUnwrap(s as? DDIMScheduler)
        XCTAssertEqual(d.eta, 1)
        XCTAssertEqual(d.config.predictionType, .vPrediction)
        XCTAssertTrue(s.needsNoise(at: s.steps[0]))
    }

    func testNativeFollowsClassName() throws {
        let turbo = try Self.shipped("sd-turbo")
        XCTAssertTrue(try SchedulerFactory.make(.native, config: turbo, steps: 2) is EulerDiscreteScheduler)
        XCTAssertTrue(try turbo.makeScheduler(.native, steps: 2) is EulerDiscreteScheduler)
        XCTAssertTrue(try SchedulerFactory.make(.native, config: turbo.with(className: "EulerAncestralDiscreteScheduler"), steps: 2)
                      is EulerAncestralScheduler)
        let ddim = try SchedulerFactory.make(.native, config: turbo.with(className: "DDIMScheduler"), steps: 2)
        XCTAssertEqual((ddim as? DDIMScheduler)?.eta, 0)
        // The runtime configs written by diffusers for the classes svia runs.
        let runtime = try JSONDecoder().decode(SchedulerConfig.self,
                                               from: Fixture.data("configs/sd-turbo/scheduler_runtime.json"))
        XCTAssertTrue(try SchedulerFactory.make(.native, config: runtime, steps: 1) is EulerAncestralScheduler)
    }

    func testNativePNDMIsAClearError() throws {
        for model in ["stable-diffusion-2-inpainting", "stable-diffusion-2"] {
            XCTAssertThrowsError(try SchedulerFactory.make(.native, config: Self.shipped(model), steps: 10)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("PNDMScheduler"), text)
                XCTAssertTrue(text.contains("not implemented"), text)
            }
        }
        XCTAssertThrowsError(try SchedulerFactory.make(.native, config: SchedulerConfig(), steps: 10)) { error in
            XCTAssertTrue("\(error)".contains("_class_name"), "\(error)")
        }
        XCTAssertThrowsError(try SchedulerFactory.make(.eulerDiscrete, config: Self.shipped("sd-turbo"), steps: 0))
    }
}
