import CTorch

extension Tensor {
    /// Whether autograd records operations on this tensor. Setting it works on leaf tensors only.
    public var requiresGrad: Bool { invariant(ct_requires_grad(handle)) != 0 }

    /// Turns gradient recording on or off for this leaf tensor; returns self for chaining.
    @discardableResult
    public func requiresGrad(_ on: Bool) throws -> Tensor {
        try check(ct_set_requires_grad(handle, on))
        return self
    }

    /// Back-propagates from this tensor (a scalar, unless `gradient` is given) into the leaves' `grad`.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) throws {
        try check(ct_backward(handle, gradient?.handle, retainGraph))
    }

    /// The gradient accumulated by `backward`, or nil when none has been.
    public var grad: Tensor? { ct_grad(handle).map { Tensor(handle: $0) } }

    /// Clears the accumulated gradient (drops it, or zeroes it in place).
    public func zeroGrad(setToNone: Bool = true) throws { try check(ct_zero_grad(handle, setToNone)) }

    /// The same data, cut from the autograd graph.
    public func detach() throws -> Tensor { try checked(ct_detach(handle)) }
}

/// Runs `body` with gradient recording off on this thread (as `torch.no_grad()`), restoring it afterwards.
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    let previous = ct_set_grad_enabled(false)
    defer { ct_set_grad_enabled(previous) }
    return try body()
}

/// Whether gradient recording is on for this thread.
public var isGradEnabled: Bool { ct_is_grad_enabled() }

/// Scales the gradients of `parameters` so that their joint norm is at most `maxNorm`
/// (`torch.nn.utils.clip_grad_norm_`); returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Double, normType: Double = 2) throws -> Double {
    let handles: [OpaquePointer?] = parameters.map { $0.handle }
    let norm = ct_clip_grad_norm(handles, Int32(handles.count), maxNorm, normType)
    if norm < 0 { throw TorchError.last() }
    return norm
}
