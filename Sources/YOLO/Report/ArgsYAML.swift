import Foundation
import Torch

/// `args.yaml` as the reference writes it (PyYAML's safe_dump, keys in the given order): strings plain unless
/// YAML would read them as something else, `true`/`false`, `null`, numbers as Python prints them, lists and dicts
/// in block style.
///
///     try ArgsYAML.write([("task", .string("detect")), ("epochs", .int(3)), ("time", .null)], to: run.argsYAML)
public enum ArgsYAML {
    public static func write(_ pairs: [(String, ConfigValue)], to url: URL) throws {
        try DurableFile.write(render(pairs), to: url)
    }

    public static func render(_ pairs: [(String, ConfigValue)]) -> String {
        pairs.map { entry(key: scalar(.string($0.0)), value: $0.1, indent: "") }.joined()
    }

    /// One `key: value` entry, its value on following lines when it is a non-empty list or dict.
    private static func entry(key: String, value: ConfigValue, indent: String) -> String {
        switch value {
        case .list(let items) where !items.isEmpty:
            // PyYAML writes a mapping's sequence without indenting it.
            return "\(indent)\(key):\n" + items.map { item(value: $0, indent: indent) }.joined()
        case .dict(let entries) where !entries.isEmpty:
            return "\(indent)\(key):\n"
                + entries.map { entry(key: scalar($0.0), value: $0.1, indent: indent + "  ") }.joined()
        default:
            return "\(indent)\(key): \(scalar(value))\n"
        }
    }

    private static func item(value: ConfigValue, indent: String) -> String {
        switch value {
        case .list(let items) where !items.isEmpty:
            let inner = items.map { item(value: $0, indent: indent + "  ") }.joined()
            return "\(indent)- " + inner.dropFirst(indent.count + 2)
        case .dict(let entries) where !entries.isEmpty:
            let inner = entries.map { entry(key: scalar($0.0), value: $0.1, indent: indent + "  ") }.joined()
            return "\(indent)- " + inner.dropFirst(indent.count + 2)
        default:
            return "\(indent)- \(scalar(value))\n"
        }
    }

    /// A value on one line.
    public static func scalar(_ value: ConfigValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .int(let i): "\(i)"
        case .double(let d): float(d)
        case .string(let s): needsQuotes(s) ? "'" + s.replacingOccurrences(of: "'", with: "''") + "'" : s
        case .list(let items): "[" + items.map(scalar).joined(separator: ", ") + "]"
        case .dict(let entries): "{" + entries.map { "\(scalar($0.0)): \(scalar($0.1))" }.joined(separator: ", ") + "}"
        }
    }

    /// Python's repr of a float, as PyYAML adjusts it: `0.0005`, `3.0`, `1.0e-05`, `.inf`, `.nan`.
    static func float(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
        var text = "\(d)"  // Swift's shortest round-trip form, which is Python's repr for doubles
        if !text.contains("."), let e = text.firstIndex(of: "e") { text.insert(contentsOf: ".0", at: e) }
        return text
    }

    private static let reserved: Set<String> = [
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES", "no",
        "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "=", "<<",
    ]

    /// Whether YAML would read `s` as anything but this string: a bool, null or number, or text that starts or
    /// contains YAML syntax.
    static func needsQuotes(_ s: String) -> Bool {
        if reserved.contains(s) { return true }
        // YAML 1.1 numbers: integers (also 0x.., 0b.., 1_000) and floats with a dot (1e3 stays a string).
        let numeric = s.replacingOccurrences(of: "_", with: "")
        if Int(numeric) != nil || (numeric.contains(".") && Double(numeric) != nil)
            || numeric.range(of: #"^[-+]?0(x[0-9a-fA-F]+|b[01]+|o?[0-7]+)$"#, options: .regularExpression) != nil
            || [".inf", "-.inf", "+.inf", ".nan"].contains(s.lowercased())
        {
            return true
        }
        if s.range(of: #"^\d{4}-\d\d?-\d\d?"#, options: .regularExpression) != nil { return true }  // a date
        if let first = s.first, "-?:,[]{}#&*!|>'\"%@`".contains(first) {
            // "-x", "?x" and ":x" are plain; "- x", "? x", ": x" and the rest are not.
            if "-?:".contains(first), s.count > 1, !s.dropFirst().first!.isWhitespace { return false }
            return true
        }
        if s.first!.isWhitespace || s.last!.isWhitespace || s.hasSuffix(":") { return true }
        return s.contains(": ") || s.contains(" #") || s.contains(where: { $0.isNewline || $0 == "\t" })
    }
}
