/// A layer or model with named parameters and buffers, as a PyTorch `nn.Module`.
///
/// Names follow PyTorch's dotted convention so that a state dict has the reference's keys, shapes and order:
/// a module's own parameters, then its own buffers, then each child's entries under the child's name. Children
/// are found by reflection over stored properties in declaration order (a `Module`, an optional one, or an array
/// of them, numbered `name.0`, `name.1`, ...); leaf layers list their own tensors.
open class Module {
    public private(set) var isTraining = true

    public init() {}

    /// This module's own parameters (not its children's), in PyTorch's registration order.
    open var ownParameters: [(String, Tensor)] { [] }
    /// This module's own persistent buffers (running statistics and the like).
    open var ownBuffers: [(String, Tensor)] { [] }

    /// Direct children with their names.
    open var children: [(String, Module)] {
        var mirrors: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror, m.subjectType != Module.self {
            mirrors.insert(m, at: 0)  // a superclass's properties come first
            mirror = m.superclassMirror
        }
        var result: [(String, Module)] = []
        for m in mirrors {
            for case let (label?, value) in m.children {
                if let module = value as? Module {
                    result.append((label, module))
                } else if let list = value as? [Module] {
                    for (i, module) in list.enumerated() { result.append(("\(label).\(i)", module)) }
                }
            }
        }
        return result
    }

    /// This module and every descendant, depth first, with dotted names ("" for this one).
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        var result = [(prefix, self)]
        for (name, child) in children {
            result += child.namedModules(prefix: prefix.isEmpty ? name : "\(prefix).\(name)")
        }
        return result
    }

    private func collect(_ own: (Module) -> [(String, Tensor)]) -> [(String, Tensor)] {
        namedModules().flatMap { (prefix, module) in
            own(module).map { (prefix.isEmpty ? $0.0 : "\(prefix).\($0.0)", $0.1) }
        }
    }

    public func namedParameters() -> [(String, Tensor)] { collect { $0.ownParameters } }
    public func parameters() -> [Tensor] { namedParameters().map(\.1) }
    /// Where the module's parameters are (the CPU for one without any).
    public var device: Device { namedParameters().first?.1.device ?? .cpu }
    /// The element type of the module's parameters (float32 for one without any).
    public var dtype: DType { namedParameters().first?.1.dtype ?? .float32 }
    public func namedBuffers() -> [(String, Tensor)] { collect { $0.ownBuffers } }

    /// Parameters and buffers, in the order PyTorch's `state_dict()` gives them.
    public func stateDict() -> [(String, Tensor)] { collect { $0.ownParameters + $0.ownBuffers } }

    /// Copies `state` into this module's tensors (converting dtype and device). With `strict`, a missing or
    /// unexpected key is an error; a shape mismatch always is. Returns the keys it did not use.
    @discardableResult
    public func loadStateDict(_ state: [(String, Tensor)], strict: Bool = true) throws -> [String] {
        let own = stateDict()
        let given = Dictionary(state, uniquingKeysWith: { _, last in last })
        let ownNames = Set(own.map(\.0))
        let unexpected = state.map(\.0).filter { !ownNames.contains($0) }
        let missing = own.map(\.0).filter { given[$0] == nil }
        if strict && (!unexpected.isEmpty || !missing.isEmpty) {
            throw TorchError(
                "state dict does not match the model: missing \(missing.prefix(5)), unexpected \(unexpected.prefix(5))"
                    + " (\(missing.count) missing, \(unexpected.count) unexpected)")
        }
        try withNoGrad {
            for (name, tensor) in own {
                guard let source = given[name] else { continue }
                guard source.shape == tensor.shape else {
                    throw TorchError("\(name): checkpoint shape \(source.shape) does not match model shape \(tensor.shape)")
                }
                try tensor.copy_(source)
            }
        }
        return unexpected
    }

    /// Sets training mode (batch statistics, dropout) on this module and every descendant.
    open func train(_ on: Bool = true) {
        for (_, module) in namedModules() { module.isTraining = on }
    }
    public func eval() { train(false) }

    /// Moves every parameter and buffer to `device` and/or `dtype` in place (floating-point tensors only change
    /// dtype, as PyTorch's `Module.to`).
    public func to(device: Device? = nil, dtype: DType? = nil) throws {
        try withNoGrad {
            for (_, module) in namedModules() { try module.convertTensors(device: device, dtype: dtype) }
        }
    }

    /// Leaf layers replace their tensors here; the default has none.
    open func convertTensors(device: Device?, dtype: DType?) throws {}
}

/// A module with one input and one output.
public protocol UnaryLayer: Module {
    func callAsFunction(_ x: Tensor) throws -> Tensor
}

/// Numbered children (`0`, `1`, ...) applied in order, as `nn.Sequential`.
public final class Sequential: Module, UnaryLayer {
    public let layers: [any UnaryLayer]
    public init(_ layers: [any UnaryLayer]) { self.layers = layers }
    public override var children: [(String, Module)] { layers.enumerated().map { ("\($0.offset)", $0.element) } }
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try layers.reduce(x) { try $1($0) } }
}

/// Numbered children without a forward of their own, as `nn.ModuleList`.
public final class ModuleList: Module {
    public let modules: [Module]
    public init(_ modules: [Module]) { self.modules = modules }
    public override var children: [(String, Module)] { modules.enumerated().map { ("\($0.offset)", $0.element) } }
    public subscript(index: Int) -> Module { modules[index] }
    public var count: Int { modules.count }
}
