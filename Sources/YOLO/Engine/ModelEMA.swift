import Foundation
import Torch

/// Exponential moving average of a model's floating-point state (parameters and batch-norm statistics), with the
/// reference's ramp: decay = 0.9999 · (1 − e^(−updates / 2000)), so early updates follow the model closely.
public final class ModelEMA {
    public let model: DetectionModel
    public private(set) var updates: Int
    public let maximumDecay: Double, tau: Double

    /// A copy of `source` (same architecture and names), in eval mode.
    public init(_ source: DetectionModel, updates: Int = 0, decay: Double = 0.9999, tau: Double = 2000) throws {
        model = try DetectionModel(spec: source.spec, names: source.names)
        if source.device != .cpu { try model.to(device: source.device) }
        try model.loadStateDict(source.stateDict())
        for p in model.parameters() { try p.requiresGrad(false) }
        model.eval()
        (self.updates, maximumDecay, self.tau) = (updates, decay, tau)
    }

    /// The decay after `updates` updates.
    public func decay(_ updates: Int) -> Double { maximumDecay * (1 - Foundation.exp(-Double(updates) / tau)) }

    /// ema ← d · ema + (1 − d) · model for every floating-point tensor.
    public func update(from source: DetectionModel) throws {
        updates += 1
        let d = decay(updates)
        var averages: [Tensor] = [], currents: [Tensor] = []
        for ((name, average), (sourceName, current)) in zip(model.stateDict(), source.stateDict()) {
            guard average.dtype.isFloatingPoint else { continue }
            precondition(name == sourceName, "EMA and model state dicts differ at \(name)")
            averages.append(average)
            currents.append(current)
        }
        try withNoGrad { try Tensor.scaleAndAdd_(averages, scale: d, currents, alpha: 1 - d) }
    }

    /// Restores the averaged state (on resume).
    public func load(_ state: [(String, Tensor)], updates: Int) throws {
        try model.loadStateDict(state)
        self.updates = updates
    }
}
