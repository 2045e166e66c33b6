// Port of diffusers 0.42.1 `schedulers/scheduling_ddim.py` (DDIMScheduler), which is also the SVIA paper's
// Algorithms 2 and 3: x_{t-1} = sqrt(a_{t-1}) x0 + sqrt(1 - a_{t-1} - sigma_t^2) eps + sigma_t z, with
// sigma_t = eta * sqrt((1 - a_{t-1}) / (1 - a_t) * (1 - a_t / a_{t-1})).
// Differences: the step count and eta are fixed at creation (diffusers: set_timesteps / step arguments);
// dynamic thresholding is not implemented (rejected at creation).
import TensorCore

public struct DDIMScheduler: Scheduler {
    public let config: SchedulerConfig
    public let schedule: NoiseSchedule
    /// Number of inference steps.
    public let stepCount: Int
    /// Stochasticity: 0 is deterministic DDIM, 1 is DDPM-like ancestral sampling (the SVIA reference).
    public let eta: Float
    /// The training timesteps visited, in order (diffusers' `scheduler.timesteps`).
    public let integerTimesteps: [Int]
    /// alpha_bar used after the last step (1, or alpha_bar_0 when `set_alpha_to_one` is false).
    public let finalAlphaCumprod: Float

    public var timesteps: [Double] { integerTimesteps.map(Double.init) }
    public var initNoiseSigma: Float { 1 }

    public init(config: SchedulerConfig, steps: Int, eta: Float = 0) throws {
        let trainSteps = config.numTrainTimesteps
        guard steps >= 1, steps <= trainSteps else {
            throw SchedulerError.invalidStepCount(steps, trainTimesteps: trainSteps)
        }
        guard !config.thresholding else {
            throw SchedulerError.invalidConfiguration("DDIM dynamic thresholding (thresholding: true) is not supported")
        }
        guard eta >= 0 else { throw SchedulerError.invalidConfiguration("eta must be >= 0, got \(eta)") }
        self.config = config
        self.schedule = NoiseSchedule(
            trainTimesteps: trainSteps, betaStart: config.betaStart, betaEnd: config.betaEnd,
            schedule: config.betaSchedule, trainedBetas: config.trainedBetas,
            rescaleToZeroTerminalSNR: config.rescaleBetasZeroSnr)
        self.stepCount = steps
        self.eta = eta
        self.finalAlphaCumprod = config.setAlphaToOne ? 1 : schedule.alphasCumprod[0]
        self.integerTimesteps = Self.makeTimesteps(
            spacing: config.timestepSpacing ?? .leading, steps: steps, trainSteps: trainSteps,
            offset: config.stepsOffset)
    }

    static func makeTimesteps(spacing: TimestepSpacing, steps n: Int, trainSteps t: Int, offset: Int) -> [Int] {
        switch spacing {
        case .linspace:
            return Spacing.linspace(0, Double(t - 1), n).map { Int(Spacing.round($0)) }.reversed()
        case .leading:
            let ratio = t / n
            return (0..<n).reversed().map { $0 * ratio + offset }
        case .trailing:
            // numpy's arange yields n + 1 values for 62 of the counts 1...1000 (n = 61, 103, ...), ending at
            // timestep -1; diffusers then indexes alphas_cumprod[-1] (the last one). Keep the n real steps.
            let ratio = Double(t) / Double(n)
            return Spacing.arange(Double(t), 0, -ratio).prefix(n).map { Int(Spacing.round($0)) - 1 }
        }
    }

    // MARK: Scheduler

    public func needsNoise(at step: DenoisingStep) -> Bool { eta > 0 }

    /// DDIM does not scale its input.
    public func scaleModelInput(_ sample: Tensor, at step: DenoisingStep) -> Tensor { sample }

    public func step(_ modelOutput: Tensor, at step: DenoisingStep, sample: Tensor, noise: Tensor?) -> SchedulerOutput {
        self.step(modelOutput: modelOutput, timestep: integerTimesteps[step.index], sample: sample, eta: eta, noise: noise)
    }

    public func addNoise(_ original: Tensor, noise: Tensor, at step: DenoisingStep) -> Tensor {
        addNoise(original, noise: noise, timestep: integerTimesteps[step.index])
    }

    // MARK: diffusers-shaped entry points

    /// The alpha_bar of the previous step, or the final one past timestep 0.
    func alphaCumprod(_ t: Int) -> Float { t >= 0 ? schedule.alphasCumprod[t] : finalAlphaCumprod }

    /// One DDIM step at training timestep `timestep` (diffusers' `step`); `noise` is needed when eta > 0.
    public func step(modelOutput: Tensor, timestep t: Int, sample: Tensor, eta: Float, noise: Tensor?) -> SchedulerOutput {
        precondition(modelOutput.shape == sample.shape, "DDIM: model output \(modelOutput.shape) vs sample \(sample.shape)")
        let prevT = t - config.numTrainTimesteps / stepCount
        let alphaT = Double(alphaCumprod(t)), alphaPrev = Double(alphaCumprod(prevT))
        let betaT = 1 - alphaT, betaPrev = 1 - alphaPrev

        // x0 and eps from the network output (DDIM paper eq. 12).
        let sqrtAlpha = Float(alphaT.squareRoot()), sqrtBeta = Float(betaT.squareRoot())
        var x0: Tensor, eps: Tensor
        switch config.predictionType {
        case .epsilon:
            x0 = (sample - sqrtBeta * modelOutput) / sqrtAlpha
            eps = modelOutput
        case .sample:
            x0 = modelOutput
            eps = (sample - sqrtAlpha * modelOutput) / sqrtBeta
        case .vPrediction:
            x0 = sqrtAlpha * sample - sqrtBeta * modelOutput
            eps = sqrtAlpha * modelOutput + sqrtBeta * sample
        }
        if config.clipSample {
            let r = Float(config.clipSampleRange)
            x0 = x0.clamp(min: -r, max: r)
        }

        let variance = (betaPrev / betaT) * (1 - alphaT / alphaPrev)
        let sigma = Double(eta) * variance.squareRoot()
        let direction = max(0, 1 - alphaPrev - sigma * sigma).squareRoot()
        var prev = Float(alphaPrev.squareRoot()) * x0 + Float(direction) * eps
        if eta > 0 {
            guard let noise else { preconditionFailure("DDIM: eta \(eta) > 0 needs noise") }
            precondition(noise.shape == sample.shape, "DDIM: noise \(noise.shape) vs sample \(sample.shape)")
            prev = prev + Float(sigma) * noise
        }
        return SchedulerOutput(prevSample: prev, predOriginalSample: x0)
    }

    /// sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise (the forward process; diffusers' `add_noise`).
    public func addNoise(_ original: Tensor, noise: Tensor, timestep t: Int) -> Tensor {
        let a = Double(schedule.alphasCumprod[t])
        return Float(a.squareRoot()) * original + Float((1 - a).squareRoot()) * noise
    }

    /// The v-prediction training target sqrt(a) noise - sqrt(1 - a) x0 (diffusers' `get_velocity`).
    public func velocity(sample: Tensor, noise: Tensor, timestep t: Int) -> Tensor {
        let a = Double(schedule.alphasCumprod[t])
        return Float(a.squareRoot()) * noise - Float((1 - a).squareRoot()) * sample
    }
}
