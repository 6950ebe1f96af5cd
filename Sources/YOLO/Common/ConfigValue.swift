/// A configuration tree as YAML files and pickled Python dicts hold it: the model's architecture (`yaml`), a
/// checkpoint's `train_args`, a dataset description. Dict keys keep their order.
public indirect enum ConfigValue: Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([ConfigValue])
    case dict([(ConfigValue, ConfigValue)])

    public static func == (a: ConfigValue, b: ConfigValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.double(let x), .double(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.list(let x), .list(let y)): x == y
        case (.dict(let x), .dict(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// The value under a string key of a dict.
    public subscript(key: String) -> ConfigValue? {
        guard case .dict(let entries) = self else { return nil }
        return entries.first { $0.0 == .string(key) }?.1
    }

    public var int: Int? {
        switch self {
        case .int(let i): i
        case .double(let d) where d == d.rounded(): Int(d)
        default: nil
        }
    }
    public var double: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var list: [ConfigValue]? { if case .list(let l) = self { l } else { nil } }
    public var dict: [(ConfigValue, ConfigValue)]? { if case .dict(let d) = self { d } else { nil } }

    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .int(let i): "\(i)"
        case .double(let d): "\(d)"
        case .string(let s): s
        case .list(let l): "[" + l.map(\.description).joined(separator: ", ") + "]"
        case .dict(let d): "{" + d.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}"
        }
    }
}
