import Foundation
import Torch

/// Builds the optimizer as the reference does: three parameter groups — weights with decay (pg0), normalisation
/// weights without (pg1), biases without (pg2) — and `optimizer=auto` choosing AdamW with an lr fitted to the class
/// count for short runs (≤ 10,000 iterations) and momentum SGD at lr 0.01 for long ones.
public struct OptimizerChoice: Sendable, Equatable {
    public let name: String
    public let lr: Double
    public let momentum: Double
    /// Where `auto` chose, the reference also starts the bias warmup at 0.
    public let warmupBiasLR: Double?

    /// The reference's rule. For long runs it now picks MuSGD, which libtorch does not have; SGD with Nesterov
    /// momentum is what it picked before, and what this picks.
    public static func choose(name: String, lr: Double, momentum: Double, classes: Int, iterations: Int) -> OptimizerChoice {
        guard name.lowercased() == "auto" else { return OptimizerChoice(name: name, lr: lr, momentum: momentum, warmupBiasLR: nil) }
        if iterations > 10_000 { return OptimizerChoice(name: "SGD", lr: 0.01, momentum: 0.9, warmupBiasLR: 0) }
        let fitted = (0.002 * 5 / Double(4 + classes) * 1e6).rounded() / 1e6
        return OptimizerChoice(name: "AdamW", lr: fitted, momentum: 0.9, warmupBiasLR: 0)
    }
}

/// The model's trainable parameters split into the reference's groups.
public struct ParameterGroups {
    public var decayed: [Tensor] = [], normWeights: [Tensor] = [], biases: [Tensor] = []

    public init(_ model: Module) {
        for (moduleName, module) in model.namedModules() {
            for (name, p) in module.ownParameters {  // frozen ones too, as the reference (they get no gradient)
                let full = moduleName.isEmpty ? name : "\(moduleName).\(name)"
                if full.contains("bias") {
                    biases.append(p)
                } else if module is BatchNorm2d {
                    normWeights.append(p)
                } else {
                    decayed.append(p)
                }
            }
        }
    }
}

extension OptimizerChoice {
    /// The optimizer over `groups`, in the reference's group order (pg0 decayed weights, pg1 norm weights, pg2 biases).
    public func make(_ groups: ParameterGroups, weightDecay: Double) throws -> Optimizer {
        let optimizer: Optimizer
        switch name.lowercased() {
        case "sgd": optimizer = try SGD([], lr: lr, momentum: momentum, nesterov: true)
        case "adamw": optimizer = try AdamW([], lr: lr, betas: (momentum, 0.999), weightDecay: 0)
        case "adam": optimizer = try Adam([], lr: lr, betas: (momentum, 0.999), weightDecay: 0)
        default: throw ConfigError("optimizer '\(name)' is not available (SGD, Adam, AdamW, auto)")
        }
        try optimizer.addGroup(groups.decayed, options: [.weightDecay: weightDecay])
        try optimizer.addGroup(groups.normWeights, options: [.weightDecay: 0])
        try optimizer.addGroup(groups.biases, options: [.weightDecay: 0])
        return optimizer
    }
}
