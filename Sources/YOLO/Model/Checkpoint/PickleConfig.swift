extension ConfigValue {
    /// The configuration a pickled value holds: scalars, lists, tuples, sets, dicts and OrderedDicts, paths (as
    /// strings), namespaces and `torch.Size` (as lists). Nil when it holds anything else (a tensor, a module).
    /// A `PickleValue` is finite and at most `PickleLimits.maxDepth` deep, which bounds this recursion.
    init?(pickle tagged: PickleValue) {
        let value = tagged.untagged
        switch value {
        case .none: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .list(let items), .tuple(let items):
            guard let list = Self.list(items) else { return nil }
            self = list
        case .dict, .object:
            if let entries = value.dictEntries {
                guard let dict = Self.dict(entries) else { return nil }
                self = dict
            } else if let elements = value.setElements {
                guard let list = Self.list(elements) else { return nil }
                self = list
            } else if let object = value.object, let converted = Self.convert(object) {
                self = converted
            } else {
                return nil
            }
        case .bytes, .global, .persistent: return nil
        }
    }

    private static func list(_ items: [PickleValue]) -> ConfigValue? {
        var list: [ConfigValue] = []
        for item in items {
            guard let value = ConfigValue(pickle: item) else { return nil }
            list.append(value)
        }
        return .list(list)
    }

    private static func dict(_ entries: [(PickleValue, PickleValue)]) -> ConfigValue? {
        var dict: [(ConfigValue, ConfigValue)] = []
        for (key, value) in entries {
            guard let key = ConfigValue(pickle: key), let value = ConfigValue(pickle: value) else { return nil }
            dict.append((key, value))
        }
        return .dict(dict)
    }

    /// Objects a configuration commonly holds: paths, namespaces (their attributes) and `torch.Size`.
    private static func convert(_ object: PickleObject) -> ConfigValue? {
        guard let name = object.className else { return nil }
        if name.hasPrefix("pathlib."), name.hasSuffix("Path") {
            let parts = object.args.compactMap(\.string)
            guard parts.count == object.args.count else { return nil }
            return .string(parts.reduce("") { $0.isEmpty || $0.hasSuffix("/") ? $0 + $1 : $0 + "/" + $1 })
        }
        if name.hasSuffix("SimpleNamespace"), let state = object.state, let entries = state.dictEntries {
            return dict(entries)
        }
        if name == "torch.Size", let dims = object.args.first?.sequence { return list(dims) }
        return nil
    }
}
