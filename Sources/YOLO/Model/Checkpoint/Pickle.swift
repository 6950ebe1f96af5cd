/// A value read from a Python pickle without running any of it: classes and functions stay names
/// (`.global`), and what Python would have called them with is kept beside them (`.object`), so the caller
/// decides what a `collections.OrderedDict` or a `torch._utils._rebuild_tensor_v2` means.
public indirect enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    /// A `dict`, in insertion order; keys may be any value.
    case dict([(PickleValue, PickleValue)])
    /// A class or function named by module and qualified name (GLOBAL, STACK_GLOBAL).
    case global(module: String, name: String)
    /// What REDUCE, NEWOBJ or a set opcode would have built.
    case object(PickleObject)
    /// A persistent id (BINPERSID); PyTorch uses it for tensor storages.
    case persistent(PickleValue)
}

/// A call Python would have made while unpickling: `callable(*args)`, then `__setstate__(state)` (BUILD), then
/// `obj[key] = value` for `dictItems` (SETITEMS on it) and `obj.append(item)` / `obj.add(item)` for `listItems`.
public struct PickleObject: Sendable {
    public var callable: PickleValue
    public var args: [PickleValue]
    public var state: PickleValue?
    public var listItems: [PickleValue] = []
    public var dictItems: [(PickleValue, PickleValue)] = []

    /// "module.name" when the callable is a global, else nil.
    public var className: String? {
        if case .global(let module, let name) = callable { "\(module).\(name)" } else { nil }
    }
}

extension PickleValue {
    public var string: String? { if case .string(let s) = untagged { s } else { nil } }
    public var int: Int? { if case .int(let i) = untagged { i } else { nil } }
    public var object: PickleObject? { if case .object(let o) = self { o } else { nil } }
    public var isNone: Bool { if case .none = untagged { true } else { false } }

    /// The value without the type tags that TorchScript's pickler (libtorch's `torch::pickle_save`) wraps
    /// around dicts and lists: `restore_type_tag(value, "Dict[str, Tensor]")`, `build_intlist([...])`, ...
    public var untagged: PickleValue {
        guard case .object(let object) = self, let name = object.className, name.hasPrefix("torch.jit._pickle."),
              let value = object.args.first
        else { return self }
        return name.hasSuffix(".restore_type_tag") || name.hasSuffix("list") ? value : self
    }

    /// The items of a list or a tuple.
    public var sequence: [PickleValue]? {
        switch untagged {
        case .list(let items), .tuple(let items): items
        default: nil
        }
    }

    /// The entries of a dict or of a `collections.OrderedDict` (built empty then filled, or from a list of pairs).
    public var dictEntries: [(PickleValue, PickleValue)]? {
        switch untagged {
        case .dict(let entries): return entries
        case .object(let object) where object.className == "collections.OrderedDict":
            var entries: [(PickleValue, PickleValue)] = []
            if let pairs = object.args.first?.sequence {
                for pair in pairs {
                    guard let kv = pair.sequence, kv.count == 2 else { return nil }
                    entries.append((kv[0], kv[1]))
                }
            }
            return entries + object.dictItems
        default: return nil
        }
    }

    /// The elements of a `set` or `frozenset`, whichever way the pickle spelled it.
    public var setElements: [PickleValue]? {
        guard case .object(let object) = self, let name = object.className,
              ["builtins.set", "__builtin__.set", "builtins.frozenset", "__builtin__.frozenset"].contains(name)
        else { return nil }
        return (object.args.first?.sequence ?? []) + object.listItems
    }

    /// The value under a string key of a dict or OrderedDict (the last one, should the key repeat).
    public subscript(key: String) -> PickleValue? {
        dictEntries?.last { $0.0.string == key }?.1
    }

    /// A short description of what kind of value this is, for error messages.
    public var kindDescription: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int: "an int"
        case .double: "a float"
        case .string: "a string"
        case .bytes: "bytes"
        case .list: "a list"
        case .tuple: "a tuple"
        case .dict: "a dict"
        case .global(let module, let name): "the global \(module).\(name)"
        case .object(let object): "an object of \(object.className ?? "an unnamed callable")"
        case .persistent: "a persistent id"
        }
    }
}
