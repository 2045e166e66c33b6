// Port of diffusers 0.42.1 `schedulers/scheduling_euler_discrete.py` (EulerDiscreteScheduler), the sampler
// stabilityai/sd-turbo ships (trailing spacing, linear sigma interpolation, final sigma 0): a deterministic Euler
// step of the probability-flow ODE in sigma space, x_{i+1} = x_i + (x_i - x0) / sigma_i * (sigma_{i+1} - sigma_i).
// Differences: the step index comes from the `DenoisingStep` instead of internal mutable state (img2img's
// `set_begin_index` is a step sequence starting past 0); the step count is fixed at creation; the stochastic
// "churn" (s_churn > 0, off by default in diffusers and in every pipeline svia mirrors) is not implemented, so no
// step consumes noise. Karras / exponential / beta sigmas, log-linear interpolation and continuous timesteps are
// rejected at creation.
import Foundation
import TensorCore

public struct EulerDiscreteScheduler: Scheduler {
    public let config: SchedulerConfig
    public let schedule: NoiseSchedule
    public let stepCount: Int
    /// The (fractional) training timesteps fed to the network, in order.
    public let timesteps: [Double]
    /// Noise levels sigma_i = sqrt((1 - a) / a) interpolated at `timesteps`, then the final sigma (count + 1 values):
    /// 0 for `final_sigmas_type` "zero" (the default), sigma of training timestep 0 for "sigma_min".
    public let sigmas: [Float]

    public init(config: SchedulerConfig, steps: Int) throws {
        let trainSteps = config.numTrainTimesteps
        guard steps >= 1, steps <= trainSteps else {
            throw SchedulerError.invalidStepCount(steps, trainTimesteps: trainSteps)
        }
        let interpolation = config.interpolationType ?? "linear"
        guard interpolation == "linear" else {
            throw SchedulerError.invalidConfiguration(
                "EulerDiscreteScheduler: interpolation_type \"\(interpolation)\" is not supported (only \"linear\")")
        }
        for (key, flag) in [("use_karras_sigmas", config.useKarrasSigmas), ("use_exponential_sigmas", config.useExponentialSigmas),
                            ("use_beta_sigmas", config.useBetaSigmas)] where flag == true {
            throw SchedulerError.invalidConfiguration("EulerDiscreteScheduler: \(key) is not supported")
        }
        let timestepType = config.timestepType ?? "discrete"
        guard timestepType == "discrete" || (timestepType == "continuous" && config.predictionType != .vPrediction) else {
            // diffusers only changes behaviour for continuous + v-prediction (timesteps become 0.25 log sigma).
            throw SchedulerError.invalidConfiguration(
                "EulerDiscreteScheduler: timestep_type \"\(timestepType)\" with \(config.predictionType.rawValue) is not supported")
        }
        let finalSigmas = config.finalSigmasType ?? "zero"
        guard finalSigmas == "zero" || finalSigmas == "sigma_min" else {
            throw SchedulerError.invalidConfiguration(
                "EulerDiscreteScheduler: final_sigmas_type must be \"zero\" or \"sigma_min\", got \"\(finalSigmas)\"")
        }
        self.config = config
        let schedule = EulerNoiseLevels.schedule(config)
        self.schedule = schedule
        self.stepCount = steps

        // Same spacing rules as the ancestral sampler (diffusers' two set_timesteps agree line for line).
        let ts = EulerAncestralScheduler.makeTimesteps(spacing: config.timestepSpacing ?? .linspace, steps: steps,
                                                       trainSteps: trainSteps, offset: config.stepsOffset)
        self.timesteps = ts
        let last: Float = finalSigmas == "zero" ? 0 : EulerNoiseLevels.sigmas(at: [0], schedule)[0]
        self.sigmas = EulerNoiseLevels.sigmas(at: ts, schedule) + [last]
    }

    /// sqrt(sigma_max^2 + 1) for leading spacing; sigma_max for linspace and trailing (diffusers' rule).
    public var initNoiseSigma: Float {
        let maxSigma = sigmas.max() ?? 0
        switch config.timestepSpacing ?? .linspace {
        case .linspace, .trailing: return maxSigma
        case .leading: return (maxSigma * maxSigma + 1).squareRoot()
        }
    }

    // MARK: Scheduler

    /// Euler without churn is deterministic.
    public func needsNoise(at step: DenoisingStep) -> Bool { false }

    /// x / sqrt(sigma^2 + 1): the network was trained on unit-variance inputs.
    public func scaleModelInput(_ sample: Tensor, at step: DenoisingStep) -> Tensor {
        let sigma = sigmas[step.index]
        return sample / (sigma * sigma + 1).squareRoot()
    }

    public func step(_ modelOutput: Tensor, at step: DenoisingStep, sample: Tensor, noise: Tensor?) -> SchedulerOutput {
        precondition(modelOutput.shape == sample.shape, "Euler: model output \(modelOutput.shape) vs sample \(sample.shape)")
        // Coefficients in float32, as torch evaluates them on the float32 sigma tensor.
        let sigma = sigmas[step.index]
        let x0: Tensor
        switch config.predictionType {
        case .epsilon:
            x0 = sample - sigma * modelOutput
        case .vPrediction:
            // c_out * v + c_skip * x
            let s2 = sigma * sigma + 1
            x0 = modelOutput * (-sigma / s2.squareRoot()) + sample / s2
        case .sample:
            x0 = modelOutput
        }
        // The ODE derivative d = (x - x0) / sigma, one Euler step of dt = sigma_next - sigma.
        let derivative = (sample - x0) / sigma
        let prev = sample + derivative * (sigmas[step.index + 1] - sigma)
        return SchedulerOutput(prevSample: prev, predOriginalSample: x0)
    }

    /// x0 + sigma * noise at the step's noise level (img2img's starting latents, inpainting's blend).
    public func addNoise(_ original: Tensor, noise: Tensor, at step: DenoisingStep) -> Tensor {
        original + noise * sigmas[step.index]
    }
}
