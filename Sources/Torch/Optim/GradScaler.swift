import CTorch

/// Dynamic loss scaling for fp16 training, as PyTorch's `torch.amp.GradScaler`: the loss is multiplied by `scale`
/// before backward, the gradients are divided by it before clipping (`unscale`), a step whose gradients hold an inf
/// or NaN is skipped and halves the scale (`backoffFactor`), and `growthInterval` clean steps in a row double it
/// (`growthFactor`). libtorch's own kernels do the work (on CUDA with every libtorch, on the CPU from torch 2.x).
/// A disabled scaler passes everything through (the reference's on the CPU, or with amp=False or amp=bf16).
public final class GradScaler {
    public let isEnabled: Bool
    public let growthFactor: Double
    public let backoffFactor: Double
    public let growthInterval: Int
    /// The current scale, a one-element float32 tensor on the gradients' device.
    public private(set) var scaleTensor: Tensor
    /// Clean steps since the last growth or backoff (int32).
    private var growthTracker: Tensor
    /// This step's inf/NaN flag once `unscale` ran; nil before.
    private var foundInf: Tensor?

    public init(
        enabled: Bool = true, initScale: Double = 65536, growthFactor: Double = 2, backoffFactor: Double = 0.5,
        growthInterval: Int = 2000, device: Device = .cpu
    ) throws {
        (isEnabled, self.growthFactor, self.backoffFactor, self.growthInterval) =
            (enabled, growthFactor, backoffFactor, growthInterval)
        scaleTensor = try Tensor.full([1], initScale, dtype: .float32, device: device)
        growthTracker = try Tensor.zeros([1], dtype: .int32, device: device)
    }

    public var currentScale: Double { (try? scaleTensor.item()) ?? 0 }

    /// `loss * scale` (the loss itself when disabled).
    public func scale(_ loss: Tensor) throws -> Tensor { isEnabled ? try loss * scaleTensor.to(loss.dtype) : loss }

    /// Divides the gradients of `parameters` by the scale in place and records whether any was inf or NaN. Once per
    /// step, before clipping.
    public func unscale(_ parameters: [Tensor]) throws {
        guard isEnabled, foundInf == nil else { return }
        let flag = try Tensor.zeros([1], dtype: .float32, device: scaleTensor.device)
        let inverse = try scaleTensor.to(.float64).reciprocal().to(.float32)
        let handles: [OpaquePointer?] = parameters.map { $0.handle }
        try check(ct_amp_unscale(handles, Int32(handles.count), flag.handle, inverse.handle))
        foundInf = flag
    }

    /// Runs `optimizer.step()` unless the unscaled gradients held an inf or NaN; returns whether it stepped.
    @discardableResult
    public func step(_ optimizer: Optimizer, parameters: [Tensor]) throws -> Bool {
        guard isEnabled else {
            try optimizer.step()
            return true
        }
        try unscale(parameters)
        guard let foundInf, try foundInf.item() == 0 else { return false }
        try optimizer.step()
        return true
    }

    /// The scale for the next step: backed off after an inf/NaN, grown after `growthInterval` clean steps.
    public func update() throws {
        guard isEnabled else { return }
        let flag = try foundInf ?? Tensor.zeros([1], dtype: .float32, device: scaleTensor.device)
        try check(ct_amp_update_scale(scaleTensor.handle, growthTracker.handle, flag.handle, growthFactor, backoffFactor,
                                      Int64(growthInterval)))
        foundInf = nil
    }

    /// PyTorch's `GradScaler.state_dict()`: scale, growth_factor, backoff_factor, growth_interval, _growth_tracker
    /// (empty when disabled, as PyTorch's).
    public var state: [(String, Double)] {
        guard isEnabled else { return [] }
        return [("scale", currentScale), ("growth_factor", growthFactor), ("backoff_factor", backoffFactor),
                ("growth_interval", Double(growthInterval)), ("_growth_tracker", (try? growthTracker.item()) ?? 0)]
    }

    /// Restores `state` (as written by `state`); keys it lacks keep their values.
    public func load(_ state: [String: Double]) throws {
        guard isEnabled, !state.isEmpty else { return }
        if let s = state["scale"] { scaleTensor = try Tensor.full([1], s, dtype: .float32, device: scaleTensor.device) }
        if let t = state["_growth_tracker"] {
            growthTracker = try Tensor.full([1], t, dtype: .int32, device: scaleTensor.device)
        }
    }
}
