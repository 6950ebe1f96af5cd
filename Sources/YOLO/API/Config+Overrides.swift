import Foundation

extension Config {
    /// The configuration of one run of `mode`: the defaults, then the keys of a `cfg=file.yaml` among `overrides`,
    /// then `overrides` themselves (the command line's words or the Swift API's arguments).
    public static func resolved(_ overrides: [String: ConfigValue], mode: String) throws -> Config {
        var merged: [String: ConfigValue] = [:]
        if let cfg = overrides["cfg"]?.string {
            guard let text = try? String(contentsOfFile: cfg, encoding: .utf8), case .dict(let entries) = try ConfigValue(yaml: text) else {
                throw ConfigError("cfg=\(cfg): cannot read it as a YAML mapping")
            }
            for (k, v) in entries { if let key = k.string { merged[key] = v } }
        }
        for (k, v) in overrides where k != "cfg" { merged[k] = v }
        merged["mode"] = .string(mode)
        return try Config(merged)
    }

    /// `resolved` for the Swift API: `overrides`, then the labelled arguments that were given (nil ones are left
    /// to the defaults).
    static func api(_ mode: String, model: String, _ arguments: [String: ConfigValue?], overrides: [String: ConfigValue]) throws -> Config {
        var values = ["model": ConfigValue.string(model)].merging(overrides) { $1 }
        for (key, value) in arguments { if let value { values[key] = value } }
        return try resolved(values, mode: mode)
    }
}

extension ConfigValue {
    /// A labelled argument of the Swift API, nil when not given.
    static func given(_ value: String?) -> ConfigValue? { value.map { .string($0) } }
    static func given(_ value: Int?) -> ConfigValue? { value.map { .int($0) } }
    static func given(_ value: Double?) -> ConfigValue? { value.map { .double($0) } }
    static func given(_ value: Bool?) -> ConfigValue? { value.map { .bool($0) } }
}
