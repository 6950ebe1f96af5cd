import Torch

/// Collects a pickled `nn.Module`'s state dict the way `Module.state_dict()` does: its `_parameters` (skipping
/// None), its `_buffers` (skipping None and `_non_persistent_buffers_set`), then each child in `_modules` under
/// "name." — which gives the reference's names, `model.0.conv.weight` ... `model.22.dfl.conv.weight`.
struct ModuleStateDict {
    private let tensors: TensorBuilder
    private(set) var entries: [(String, Tensor)] = []
    private(set) var bufferNames: Set<String> = []

    init(tensors: TensorBuilder) { self.tensors = tensors }

    /// The attributes of a pickled module (its `__dict__`, set by BUILD), or nil when `value` is not one.
    static func attributes(of value: PickleValue) -> PickleValue? {
        guard let state = value.object?.state else { return nil }
        // A (dict, slots) pair when the class has __slots__.
        let dict = state.dictEntries != nil ? state : (state.sequence?.first ?? .none)
        guard dict["_parameters"] != nil || dict["_modules"] != nil else { return nil }
        return dict
    }

    mutating func add(module: PickleValue, prefix: String = "") throws {
        guard let attributes = Self.attributes(of: module) else {
            let what = prefix.isEmpty ? "the model" : "module " + prefix.dropLast()  // without its final dot
            throw CheckpointFailure("\(what) is \(module.kindDescription), not a torch module")
        }
        for (name, value) in try entries(attributes, "_parameters", prefix) where !value.isNone {
            entries.append((prefix + name, try tensor(value, prefix + name)))
        }
        let skipped = Set((attributes["_non_persistent_buffers_set"]?.setElements ?? []).compactMap(\.string))
        let buffers = try entries(attributes, "_buffers", prefix)
        for (name, value) in buffers where !value.isNone && !skipped.contains(name) {
            entries.append((prefix + name, try tensor(value, prefix + name)))
            bufferNames.insert(prefix + name)
        }
        for (name, child) in try entries(attributes, "_modules", prefix) where !child.isNone {
            try add(module: child, prefix: prefix + name + ".")
        }
    }

    /// The string-keyed entries of the dict attribute `key` (absent means empty).
    private func entries(_ attributes: PickleValue, _ key: String, _ prefix: String) throws -> [(String, PickleValue)] {
        guard let value = attributes[key], !value.isNone else { return [] }
        guard let entries = value.dictEntries else {
            throw CheckpointFailure("\(prefix)\(key) is \(value.kindDescription), not a dict")
        }
        return try entries.map { entryKey, entryValue in
            guard let name = entryKey.string else {
                throw CheckpointFailure("\(prefix)\(key) has a key that is \(entryKey.kindDescription), not a string")
            }
            return (name, entryValue)
        }
    }

    private func tensor(_ value: PickleValue, _ name: String) throws -> Tensor {
        do {
            return try tensors.tensor(from: value)
        } catch {
            throw CheckpointFailure("\(name): \(error)")
        }
    }
}
