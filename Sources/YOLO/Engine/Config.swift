import Foundation

/// Every setting of a run, with the reference's names and defaults, filled from the defaults, then a `cfg` YAML,
/// then `key=value` words or the Swift API (later sources win). Unknown keys and ill-typed values are errors that
/// name the key.
public struct Config: Sendable, CustomStringConvertible {
    public private(set) var entries: [(String, ConfigValue)]
    /// The keys set after the defaults (from a `cfg` YAML, `key=value` words, the Swift API or `set`): what a
    /// checkpoint's own settings must not replace.
    public private(set) var givenKeys: Set<String> = []

    /// The defaults, in the reference's order.
    public init() { entries = Config.defaults }

    /// Defaults overridden by `overrides` (e.g. parsed `key=value` words).
    public init(_ overrides: [String: ConfigValue]) throws {
        self.init()
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) { try set(key, value) }
    }

    public subscript(key: String) -> ConfigValue? { entries.first { $0.0 == key }?.1 }

    /// Sets a known key, checking the value against the default's type (numbers may be ints or floats; a
    /// null default accepts anything).
    public mutating func set(_ key: String, _ value: ConfigValue) throws {
        guard let index = entries.firstIndex(where: { $0.0 == key }) else {
            let close = Config.defaults.map(\.0).filter { Config.similar($0, key) }
            throw ConfigError(
                "'\(key)' is not a valid argument" + (close.isEmpty ? "" : "; similar: \(close.joined(separator: ", "))"))
        }
        let current = Config.defaults[index].1
        entries[index].1 = try Config.coerce(value, like: current, key: key)
        givenKeys.insert(key)
    }

    /// Parses `key=value` words (the reference's CLI syntax; values as YAML scalars: 0.01, True, null, [0, 2]). As
    /// the reference, a bare name of a boolean argument sets it (`yolo train resume`, `yolo predict save_txt`).
    public static func parse(words: [String]) throws -> [String: ConfigValue] {
        var result: [String: ConfigValue] = [:]
        for word in words {
            guard let eq = word.firstIndex(of: "="), eq != word.startIndex else {
                if let (_, value) = defaults.first(where: { $0.0 == word }) {
                    guard case .bool = value else {
                        throw ConfigError("'\(word)' is a valid argument but is missing an '=' sign to set its value, "
                            + "i.e. try '\(word)=\(value)'")
                    }
                    result[word] = .bool(true)
                    continue
                }
                throw ConfigError("'\(word)' is not key=value")
            }
            let key = String(word[..<eq]), text = String(word[word.index(after: eq)...])
            result[key] = text.isEmpty ? .null : ((try? ConfigValue(yaml: text)) ?? .string(text))
        }
        return result
    }

    // MARK: Typed access to what the engine uses

    public func int(_ key: String) -> Int? { self[key]?.int }
    public func double(_ key: String) -> Double? { self[key]?.double }
    public func string(_ key: String) -> String? {
        switch self[key] {
        case .string(let s)?: s
        case .null?, nil: nil
        case let other?: other.description
        }
    }
    public func bool(_ key: String) -> Bool {
        switch self[key] {
        case .bool(let b)?: b
        case .string(let s)?: ["true", "1", "yes"].contains(s.lowercased())
        case .int(let i)?: i != 0
        default: false
        }
    }

    public var description: String { entries.map { "\($0.0)=\($0.1)" }.joined(separator: ", ") }

    static func coerce(_ value: ConfigValue, like current: ConfigValue, key: String) throws -> ConfigValue {
        func fail() -> ConfigError { ConfigError("'\(key)=\(value)' is invalid: expected \(kind(of: current))") }
        // Arguments that take several forms in the reference (batch, imgsz, cache, pretrained, amp, resume, ...).
        if Config.flexible.contains(key) { return value }
        switch (current, value) {
        case (.null, _), (_, .null): return value
        case (.bool, .bool), (.string, .string), (.int, .int), (.double, .double): return value
        case (.double, .int(let i)): return .double(Double(i))
        case (.int, .double(let d)) where d == d.rounded(): return .int(Int(d))
        case (.bool, .int(let i)) where i == 0 || i == 1: return .bool(i == 1)
        case (.bool, .string(let s)):
            switch s.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: throw fail()
            }
        case (.string, .int), (.string, .double), (.string, .bool): return .string(value.description)
        default: throw fail()
        }
    }

    static func kind(of value: ConfigValue) -> String {
        switch value {
        case .bool: "True or False"
        case .int: "an integer"
        case .double: "a number"
        case .string: "a string"
        default: "a value"
        }
    }

    static func similar(_ a: String, _ b: String) -> Bool {
        a.hasPrefix(b) || b.hasPrefix(a) || (a.count > 3 && b.count > 3 && a.contains(b.prefix(4)))
    }

    static let flexible: Set<String> = [
        "batch", "imgsz", "cache", "pretrained", "amp", "device", "freeze", "classes", "fraction", "scale", "resume",
    ]
}

public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
