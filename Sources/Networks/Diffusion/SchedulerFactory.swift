// Building a sampler from a checkpoint's scheduler/scheduler_config.json, as diffusers'
// `DDIMScheduler.from_config(pipe.scheduler.config)` does: the training schedule (betas, prediction type, offsets)
// comes from whichever class the repository names, keys the target class does not know are ignored, and keys the
// file leaves out take the target class's defaults (`timestep_spacing`: leading for DDIM, linspace for Euler).
import Foundation

/// Which sampler to run.
public enum SchedulerKind: Sendable, Equatable, CustomStringConvertible {
    /// The class the configuration names (`_class_name`), when it is one svia implements (DDIM runs with eta 0).
    case native
    /// DDIMScheduler with stochasticity `eta` (0: deterministic DDIM; 1: the SVIA reference).
    case ddim(eta: Float = 0)
    /// EulerDiscreteScheduler (deterministic).
    case eulerDiscrete
    /// EulerAncestralDiscreteScheduler (one noise draw per step except the last).
    case eulerAncestral

    public var description: String {
        switch self {
        case .native: "native"
        case let .ddim(eta): "ddim(eta: \(eta))"
        case .eulerDiscrete: "euler"
        case .eulerAncestral: "euler-ancestral"
        }
    }
}

public enum SchedulerFactory {
    /// diffusers class names of the samplers svia implements.
    public static let implementedClasses = ["DDIMScheduler", "EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler"]

    /// A `kind` sampler with `steps` inference steps over `config`'s training schedule.
    /// Throws `SchedulerError.invalidConfiguration` for `.native` when the configuration names no class or one
    /// svia does not implement (PNDMScheduler, say: ask for `.ddim` or an Euler sampler instead), and the
    /// sampler's own errors (step count, unsupported options).
    public static func make(_ kind: SchedulerKind, config: SchedulerConfig, steps: Int) throws -> any Scheduler {
        switch kind {
        case let .ddim(eta):
            return try DDIMScheduler(config: config, steps: steps, eta: eta)
        case .eulerDiscrete:
            return try EulerDiscreteScheduler(config: config, steps: steps)
        case .eulerAncestral:
            return try EulerAncestralScheduler(config: config, steps: steps)
        case .native:
            return try make(nativeKind(of: config), config: config, steps: steps)
        }
    }

    /// The kind `.native` resolves to for `config`.
    public static func nativeKind(of config: SchedulerConfig) throws -> SchedulerKind {
        switch config.className {
        case "DDIMScheduler": return .ddim(eta: 0)
        case "EulerDiscreteScheduler": return .eulerDiscrete
        case "EulerAncestralDiscreteScheduler": return .eulerAncestral
        case nil:
            throw SchedulerError.invalidConfiguration(
                "the scheduler configuration names no class (_class_name); choose a sampler explicitly")
        case let name?:
            throw SchedulerError.invalidConfiguration(
                "the checkpoint's scheduler class \(name) is not implemented (implemented: "
                    + implementedClasses.joined(separator: ", ") + "); choose a sampler explicitly")
        }
    }
}

extension SchedulerConfig {
    /// `SchedulerFactory.make(kind, config: self, steps: steps)`.
    public func makeScheduler(_ kind: SchedulerKind, steps: Int) throws -> any Scheduler {
        try SchedulerFactory.make(kind, config: self, steps: steps)
    }
}
