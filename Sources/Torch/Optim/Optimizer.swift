import CTorch

/// An option of an optimizer's parameter group.
public enum OptimizerOption: Int32, Sendable {
    case lr = 0, momentum, dampening, weightDecay, nesterov, beta1, beta2, eps
}

/// One of libtorch's optimizers (SGD, Adam, AdamW), with parameter groups whose options can change between steps
/// (the YOLO trainer moves lr and momentum every iteration during warmup).
public class Optimizer {
    let handle: OpaquePointer
    let defaults: [Double]

    init(kind: Int32, defaults: [Double], params: [Tensor]) throws {
        guard let h = ct_optimizer_new(kind, defaults) else { throw TorchError.last() }
        (handle, self.defaults) = (h, defaults)
        if !params.isEmpty { try addGroup(params, options: [:]) }
    }
    deinit { ct_optimizer_free(handle) }

    /// Adds a group of parameters; options not given take the optimizer's defaults.
    public func addGroup(_ params: [Tensor], options: [OptimizerOption: Double]) throws {
        var values = defaults
        for (option, value) in options { values[Int(option.rawValue)] = value }
        let handles: [OpaquePointer?] = params.map { $0.handle }
        try check(ct_optimizer_add_group(handle, handles, Int32(handles.count), values))
    }

    public var groups: [ParamGroup] {
        (0..<Int(invariant(ct_optimizer_group_count(handle)))).map { ParamGroup(optimizer: self, index: $0) }
    }

    public func get(_ option: OptimizerOption, group: Int) throws -> Double {
        var value = 0.0
        try check(ct_optimizer_get(handle, Int32(group), option.rawValue, &value))
        return value
    }
    public func set(_ option: OptimizerOption, _ value: Double, group: Int) throws {
        try check(ct_optimizer_set(handle, Int32(group), option.rawValue, value))
    }

    /// Updates every parameter from its gradient.
    public func step() throws { try check(ct_optimizer_step(handle)) }
    public func zeroGrad(setToNone: Bool = true) throws { try check(ct_optimizer_zero_grad(handle, setToNone)) }

    /// The whole state (momentum buffers, moments, step counts, group options) as bytes, to checkpoint.
    public func stateBytes() throws -> [UInt8] {
        guard let buffer = ct_optimizer_save(handle) else { throw TorchError.last() }
        defer { ct_buffer_free(buffer) }
        let raw = UnsafeRawBufferPointer(start: ct_buffer_data(buffer), count: ct_buffer_size(buffer))
        return [UInt8](raw)
    }
    /// Restores a state saved by `stateBytes()` into an optimizer over the same parameter layout.
    public func loadState(_ bytes: [UInt8]) throws {
        try check(bytes.withUnsafeBytes { ct_optimizer_load(handle, $0.baseAddress, $0.count) })
    }
}

/// A view of one parameter group's options.
public struct ParamGroup {
    let optimizer: Optimizer
    public let index: Int

    public func get(_ option: OptimizerOption) throws -> Double { try optimizer.get(option, group: index) }
    public func set(_ option: OptimizerOption, _ value: Double) throws { try optimizer.set(option, value, group: index) }

    /// Learning rate (every optimizer has one, so this never fails).
    public var lr: Double {
        get { (try? get(.lr)) ?? .nan }
        nonmutating set { try? set(.lr, newValue) }
    }
}

private func options(
    lr: Double, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0, nesterov: Bool = false,
    betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8
) -> [Double] {
    [lr, momentum, dampening, weightDecay, nesterov ? 1 : 0, betas.0, betas.1, eps]
}

/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (`torch.optim.SGD`).
public final class SGD: Optimizer {
    public init(
        _ params: [Tensor], lr: Double, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0,
        nesterov: Bool = false
    ) throws {
        try super.init(
            kind: Int32(CT_SGD),
            defaults: options(
                lr: lr, momentum: momentum, dampening: dampening, weightDecay: weightDecay, nesterov: nesterov),
            params: params)
    }
}

/// Adam with decoupled weight decay (`torch.optim.AdamW`).
public final class AdamW: Optimizer {
    public init(
        _ params: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
        weightDecay: Double = 1e-2
    ) throws {
        try super.init(
            kind: Int32(CT_ADAMW), defaults: options(lr: lr, weightDecay: weightDecay, betas: betas, eps: eps),
            params: params)
    }
}

/// Adam with L2 weight decay (`torch.optim.Adam`).
public final class Adam: Optimizer {
    public init(
        _ params: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
        weightDecay: Double = 0
    ) throws {
        try super.init(
            kind: Int32(CT_ADAM), defaults: options(lr: lr, weightDecay: weightDecay, betas: betas, eps: eps),
            params: params)
    }
}
