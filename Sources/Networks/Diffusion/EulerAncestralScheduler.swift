// Port of diffusers 0.42.1 `schedulers/scheduling_euler_ancestral_discrete.py`
// (EulerAncestralDiscreteScheduler), the few-step sampler used with sd-turbo (trailing spacing).
// Differences: the step index comes from the `DenoisingStep` instead of internal mutable state, so img2img's
// `set_begin_index` is simply a step sequence starting past 0; the step count is fixed at creation.
import TensorCore

public struct EulerAncestralScheduler: Scheduler {
    public let config: SchedulerConfig
    public let schedule: NoiseSchedule
    public let stepCount: Int
    /// The (fractional) training timesteps fed to the network, in order.
    public let timesteps: [Double]
    /// Noise levels sigma_i = sqrt((1 - a) / a) interpolated at `timesteps`, then a final 0 (count + 1 values).
    public let sigmas: [Float]

    public init(config: SchedulerConfig, steps: Int) throws {
        let trainSteps = config.numTrainTimesteps
        guard steps >= 1, steps <= trainSteps else {
            throw SchedulerError.invalidStepCount(steps, trainTimesteps: trainSteps)
        }
        if config.predictionType == .sample {
            throw SchedulerError.unsupportedPrediction(.sample, scheduler: "EulerAncestralScheduler")
        }
        self.config = config
        let schedule = EulerNoiseLevels.schedule(config)
        self.schedule = schedule
        self.stepCount = steps

        let ts = Self.makeTimesteps(spacing: config.timestepSpacing ?? .linspace, steps: steps,
                                    trainSteps: trainSteps, offset: config.stepsOffset)
        self.timesteps = ts
        self.sigmas = EulerNoiseLevels.sigmas(at: ts, schedule) + [0]
    }

    static func makeTimesteps(spacing: TimestepSpacing, steps n: Int, trainSteps t: Int, offset: Int) -> [Double] {
        switch spacing {
        case .linspace:
            return Spacing.linspace(0, Double(t - 1), n).map { Double(Float($0)) }.reversed()
        case .leading:
            let ratio = t / n
            return (0..<n).reversed().map { Double($0 * ratio + offset) }
        case .trailing:
            let ratio = Double(t) / Double(n)
            // As in DDIMScheduler: numpy's arange can yield one value too many; keep n.
            return Spacing.arange(Double(t), 0, -ratio).prefix(n).map { Double(Float(Spacing.round($0))) - 1 }
        }
    }

    /// numpy.interp over x = 0, 1, 2, ... (clamped at both ends).
    static func interp(_ x: Double, _ ys: [Double]) -> Double {
        if x <= 0 { return ys[0] }
        if x >= Double(ys.count - 1) { return ys[ys.count - 1] }
        let i = Int(x.rounded(.down))
        let f = x - Double(i)
        return ys[i] + (ys[i + 1] - ys[i]) * f
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

    /// Every step but one that lands on sigma 0 adds noise (sigma_up > 0).
    public func needsNoise(at step: DenoisingStep) -> Bool { sigmas[step.index + 1] > 0 }

    /// x / sqrt(sigma^2 + 1): the network was trained on unit-variance inputs.
    public func scaleModelInput(_ sample: Tensor, at step: DenoisingStep) -> Tensor {
        let sigma = Double(sigmas[step.index])
        return sample / Float((sigma * sigma + 1).squareRoot())
    }

    public func step(_ modelOutput: Tensor, at step: DenoisingStep, sample: Tensor, noise: Tensor?) -> SchedulerOutput {
        precondition(modelOutput.shape == sample.shape, "Euler ancestral: model output \(modelOutput.shape) vs sample \(sample.shape)")
        let sigma = Double(sigmas[step.index])
        let x0: Tensor
        switch config.predictionType {
        case .epsilon:
            x0 = sample - Float(sigma) * modelOutput
        case .vPrediction:
            // c_out * v + c_skip * x
            let s2 = sigma * sigma + 1
            x0 = Float(-sigma / s2.squareRoot()) * modelOutput + sample / Float(s2)
        case .sample:
            preconditionFailure("Euler ancestral: sample prediction is rejected at creation")
        }

        // Split the move to the next noise level into a deterministic part (down) and fresh noise (up).
        let sigmaTo = Double(sigmas[step.index + 1])
        let sigmaUp = (sigmaTo * sigmaTo * (sigma * sigma - sigmaTo * sigmaTo) / (sigma * sigma)).squareRoot()
        let sigmaDown = max(0, sigmaTo * sigmaTo - sigmaUp * sigmaUp).squareRoot()
        // Euler step x + d * dt, with the ODE derivative d = (x - x0) / sigma and dt = sigma_down - sigma.
        let derivative = (sample - x0) / Float(sigma)
        var prev = sample + Float(sigmaDown - sigma) * derivative
        if sigmaUp > 0 {
            guard let noise else { preconditionFailure("Euler ancestral: step \(step.index) needs noise") }
            precondition(noise.shape == sample.shape, "Euler ancestral: noise \(noise.shape) vs sample \(sample.shape)")
            prev = prev + Float(sigmaUp) * noise
        }
        return SchedulerOutput(prevSample: prev, predOriginalSample: x0)
    }

    /// x0 + sigma * noise at the step's noise level (img2img's starting latents).
    public func addNoise(_ original: Tensor, noise: Tensor, at step: DenoisingStep) -> Tensor {
        original + sigmas[step.index] * noise
    }
}

/// What the Euler samplers share: the training schedule (with a finite first sigma under zero-SNR rescaling) and
/// the noise levels sigma = sqrt((1 - alpha_bar) / alpha_bar) at fractional timesteps.
enum EulerNoiseLevels {
    static func schedule(_ config: SchedulerConfig) -> NoiseSchedule {
        let schedule = NoiseSchedule(
            trainTimesteps: config.numTrainTimesteps, betaStart: config.betaStart, betaEnd: config.betaEnd,
            schedule: config.betaSchedule, trainedBetas: config.trainedBetas,
            rescaleToZeroTerminalSNR: config.rescaleBetasZeroSnr)
        guard config.rescaleBetasZeroSnr else { return schedule }
        // Close to 0 without being 0, so the first sigma is finite (diffusers uses fp16's smallest subnormal).
        var ac = schedule.alphasCumprod
        ac[ac.count - 1] = 0x1p-24
        return NoiseSchedule(betas: schedule.betas, alphasCumprod: ac)
    }

    /// Per-timestep sigmas in float32 (as torch computes them), interpolated in float64 (np.interp).
    static func sigmas(at timesteps: [Double], _ schedule: NoiseSchedule) -> [Float] {
        let full = schedule.alphasCumprod.map { a -> Double in Double(((1 - a) / a).squareRoot()) }
        return timesteps.map { Float(EulerAncestralScheduler.interp($0, full)) }
    }
}
