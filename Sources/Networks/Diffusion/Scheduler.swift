// The parts shared by the samplers: the step sequence the caller iterates, the training noise schedule
// (betas and cumulative alphas, as diffusers 0.42.1 builds them in float32) and timestep spacing.
import Foundation
import TensorCore

/// What the denoising network predicts.
public enum PredictionType: String, Codable, Sendable {
    case epsilon
    case vPrediction = "v_prediction"
    case sample
}

/// How inference timesteps are spread over the training range (Table 2 of arXiv:2305.08891).
public enum TimestepSpacing: String, Codable, Sendable {
    case leading, trailing, linspace
}

/// The training beta schedule.
public enum BetaSchedule: String, Codable, Sendable {
    case linear
    case scaledLinear = "scaled_linear"
    case squaredcosCapV2 = "squaredcos_cap_v2"
}

public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    case invalidStepCount(Int, trainTimesteps: Int)
    case invalidStrength(Double)
    case noStepsLeft(steps: Int, strength: Double)
    case unsupportedPrediction(PredictionType, scheduler: String)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case let .invalidStepCount(n, t): "scheduler: \(n) inference steps, but the model was trained on \(t) timesteps (need 1...\(t))"
        case let .invalidStrength(s): "scheduler: strength \(s) is outside 0...1"
        case let .noStepsLeft(n, s): "scheduler: strength \(s) with \(n) steps leaves no denoising step (steps x strength must be >= 1)"
        case let .unsupportedPrediction(p, name): "\(name): prediction type \(p.rawValue) is not supported"
        case let .invalidConfiguration(why): "scheduler configuration: \(why)"
        }
    }
}

/// One denoising step: where it is in the run and which training timestep the network sees.
public struct DenoisingStep: Sendable, Equatable {
    /// Index into the scheduler's full `timesteps` (img2img runs start past 0).
    public let index: Int
    /// Position within this run, 0..<count, for progress reports.
    public let ordinal: Int
    /// Number of steps in this run.
    public let count: Int
    /// The timestep passed to the network.
    public let timestep: Double
}

/// The steps of one run, in order. Iterate it, evaluate the network, call `step`; stop whenever you like.
public struct DenoisingSteps: RandomAccessCollection, Sendable {
    public let timesteps: [Double]
    public let startIndex: Int
    public let endIndex: Int

    init(timesteps: [Double], from start: Int = 0) {
        self.timesteps = timesteps
        self.startIndex = start
        self.endIndex = timesteps.count
    }

    public subscript(position: Int) -> DenoisingStep {
        DenoisingStep(index: position, ordinal: position - startIndex, count: endIndex - startIndex,
                      timestep: timesteps[position])
    }
}

/// The result of one scheduler step.
public struct SchedulerOutput: Sendable {
    /// The less noisy sample for the next step (x_{t-1}).
    public let prevSample: Tensor
    /// The model's current estimate of the clean sample (x_0), useful for previews.
    public let predOriginalSample: Tensor
}

/// A sampler that turns network outputs into successively less noisy latents.
///
/// Schedulers are values: `steps` is fixed at creation, and stepping does not mutate them, so the same
/// scheduler can drive several runs (one per frame, say) concurrently.
public protocol Scheduler: Sendable {
    /// Timesteps of the full schedule, in the order they are used.
    var timesteps: [Double] { get }
    /// Standard deviation of the starting noise: multiply unit Gaussian noise by it for text-to-image.
    var initNoiseSigma: Float { get }
    /// Whether `step` at this step consumes fresh noise (it then requires `noise`).
    func needsNoise(at step: DenoisingStep) -> Bool
    /// Scales the sample before it is fed to the network.
    func scaleModelInput(_ sample: Tensor, at step: DenoisingStep) -> Tensor
    /// One reverse-diffusion step. `noise` is unit Gaussian noise of the sample's shape.
    func step(_ modelOutput: Tensor, at step: DenoisingStep, sample: Tensor, noise: Tensor?) -> SchedulerOutput
    /// Noises clean latents to the level of `step` (img2img's starting point).
    func addNoise(_ original: Tensor, noise: Tensor, at step: DenoisingStep) -> Tensor
}

extension Scheduler {
    /// Every step of the schedule (text-to-image, inpainting).
    public var steps: DenoisingSteps { DenoisingSteps(timesteps: timesteps) }

    /// The steps an img2img run with `strength` takes: the last `Int(count x strength)` ones, as
    /// diffusers' `StableDiffusionImg2ImgPipeline.get_timesteps` picks them.
    public func steps(strength: Double) throws -> DenoisingSteps {
        guard (0...1).contains(strength) else { throw SchedulerError.invalidStrength(strength) }
        let n = timesteps.count
        let kept = min(Int(Double(n) * strength), n)
        guard kept > 0 else { throw SchedulerError.noStepsLeft(steps: n, strength: strength) }
        return DenoisingSteps(timesteps: timesteps, from: n - kept)
    }

    /// A step that draws its noise from `rng` only when the scheduler needs it.
    public func step(_ modelOutput: Tensor, at step: DenoisingStep, sample: Tensor,
                     rng: inout GaussianNoise) -> SchedulerOutput {
        let noise = needsNoise(at: step) ? rng.tensor(shape: sample.shape) : nil
        return self.step(modelOutput, at: step, sample: sample, noise: noise)
    }
}

// MARK: - Training noise schedule

/// Betas and cumulative alphas of the training process, computed in float32 the way diffusers does.
public struct NoiseSchedule: Sendable, Equatable {
    public let betas: [Float]
    public let alphasCumprod: [Float]

    public init(trainTimesteps n: Int, betaStart: Double, betaEnd: Double, schedule: BetaSchedule,
                trainedBetas: [Double]? = nil, rescaleToZeroTerminalSNR: Bool = false) {
        var betas: [Float]
        if let trained = trainedBetas {
            betas = trained.map { Float($0) }
        } else {
            switch schedule {
            case .linear:
                betas = Self.linspace(Float(betaStart), Float(betaEnd), n)
            case .scaledLinear:
                betas = Self.linspace(Float(betaStart.squareRoot()), Float(betaEnd.squareRoot()), n).map { $0 * $0 }
            case .squaredcosCapV2:
                betas = Self.cosineBetas(n)
            }
        }
        if rescaleToZeroTerminalSNR { betas = Self.rescaleZeroTerminalSNR(betas) }
        var cumprod = [Float](repeating: 0, count: betas.count)
        var acc: Float = 1
        for i in betas.indices {
            acc *= 1 - betas[i]
            cumprod[i] = acc
        }
        self.betas = betas
        self.alphasCumprod = cumprod
    }

    init(betas: [Float], alphasCumprod: [Float]) {
        self.betas = betas
        self.alphasCumprod = alphasCumprod
    }

    /// torch.linspace's float32 CPU kernel: forward from `start` for the first half, backward from `end` for the rest.
    static func linspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
        guard steps > 1 else { return steps == 1 ? [start] : [] }
        let step = (end - start) / Float(steps - 1)
        let half = steps / 2
        return (0..<steps).map { i in
            i < half ? start + step * Float(i) : end - step * Float(steps - i - 1)
        }
    }

    static func cosineBetas(_ n: Int, maxBeta: Double = 0.999) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<n).map { i in
            let t1 = Double(i) / Double(n), t2 = Double(i + 1) / Double(n)
            return Float(min(1 - alphaBar(t2) / alphaBar(t1), maxBeta))
        }
    }

    /// arXiv:2305.08891 Algorithm 1: shift and scale sqrt(alpha_bar) so the last timestep has zero SNR.
    static func rescaleZeroTerminalSNR(_ betas: [Float]) -> [Float] {
        var acc: Float = 1
        var sqrtBar = betas.map { b -> Float in
            acc *= 1 - b
            return acc.squareRoot()
        }
        let first = sqrtBar[0], last = sqrtBar[sqrtBar.count - 1]
        let scale = first / (first - last)
        for i in sqrtBar.indices { sqrtBar[i] = (sqrtBar[i] - last) * scale }
        let bar = sqrtBar.map { $0 * $0 }
        var out = [Float](repeating: 0, count: bar.count)
        out[0] = 1 - bar[0]
        for i in 1..<bar.count { out[i] = 1 - bar[i] / bar[i - 1] }
        return out
    }
}

// MARK: - Timestep spacing (numpy semantics, so schedules match diffusers exactly)

enum Spacing {
    /// numpy.linspace(start, stop, num): i * step + start, last element exactly `stop`.
    static func linspace(_ start: Double, _ stop: Double, _ num: Int) -> [Double] {
        guard num > 1 else { return num == 1 ? [start] : [] }
        let step = (stop - start) / Double(num - 1)
        var y = (0..<num).map { Double($0) * step + start }
        y[num - 1] = stop
        return y
    }

    /// numpy.arange(start, stop, step) for floating-point arguments.
    static func arange(_ start: Double, _ stop: Double, _ step: Double) -> [Double] {
        let count = max(0, Int(((stop - start) / step).rounded(.up)))
        return (0..<count).map { start + Double($0) * step }
    }

    /// numpy's round(): half to even.
    static func round(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }
}
