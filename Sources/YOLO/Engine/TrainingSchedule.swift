import Foundation

/// The reference's learning-rate recipe: a per-epoch factor (linear, or cosine with `cos_lr`) applied to each group's
/// initial lr, and a warmup over the first iterations that raises weights' lr from 0 (biases' from `warmup_bias_lr`
/// down), momentum from `warmup_momentum`, and gradient accumulation from 1, all by linear interpolation.
public struct TrainingSchedule: Sendable {
    public let epochs: Int
    public let lrf: Double
    public let cosine: Bool
    public let warmupIterations: Int
    public let warmupBiasLR: Double, warmupMomentum: Double, momentum: Double
    public let accumulate: Int

    public init(config: Config, epochs: Int, batchesPerEpoch: Int, accumulate: Int) {
        self.epochs = epochs
        lrf = config.double("lrf") ?? 0.01
        cosine = config.bool("cos_lr")
        // Warmup leaves at least the final epoch for regular training.
        let warmupEpochs = Swift.min(config.double("warmup_epochs") ?? 3, Double(Swift.max(epochs - 1, 0)))
        warmupIterations = warmupEpochs > 0 ? Int((warmupEpochs * Double(batchesPerEpoch)).rounded(.toNearestOrEven)) : 0
        warmupBiasLR = config.double("warmup_bias_lr") ?? 0.1
        warmupMomentum = config.double("warmup_momentum") ?? 0.8
        momentum = config.double("momentum") ?? 0.937
        self.accumulate = accumulate
    }

    /// The factor on the initial lr in epoch `epoch` (0-based).
    public func factor(epoch: Int) -> Double {
        let x = Double(epoch)
        if cosine {  // one_cycle(1, lrf, epochs)
            return ((1 - Foundation.cos(x * .pi / Double(epochs))) / 2) * (lrf - 1) + 1
        }
        return Swift.max(1 - x / Double(epochs), 0) * (1 - lrf) + lrf
    }

    /// Whether iteration `ni` (counted over the whole run) is in warmup (the last warmup iteration lands exactly on
    /// the targets).
    public func inWarmup(_ ni: Int) -> Bool { warmupIterations > 0 && ni <= warmupIterations }

    /// The lr of a group during warmup at iteration `ni`.
    public func warmupLR(_ ni: Int, epoch: Int, initialLR: Double, isBias: Bool) -> Double {
        interpolate(ni, from: isBias ? warmupBiasLR : 0, to: initialLR * factor(epoch: epoch))
    }
    public func warmupMomentum(_ ni: Int) -> Double { interpolate(ni, from: warmupMomentum, to: momentum) }
    /// Batches accumulated per optimizer step at iteration `ni`.
    public func accumulation(_ ni: Int) -> Int {
        guard inWarmup(ni) else { return accumulate }
        return Swift.max(1, Int(interpolate(ni, from: 1, to: Double(accumulate)).rounded(.toNearestOrEven)))
    }

    func interpolate(_ ni: Int, from a: Double, to b: Double) -> Double {
        let t = Swift.min(Swift.max(Double(ni) / Double(warmupIterations), 0), 1)
        return a + (b - a) * t
    }
}
