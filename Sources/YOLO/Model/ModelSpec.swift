import Foundation
import Yams

/// An error in a model description: names the file (or checkpoint) and what was wrong.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One row of a model YAML: `[from, repeats, module, args]`.
public struct LayerSpec: Sendable {
    public let from: [Int]
    public let repeats: Int
    public let module: String
    public let args: [ConfigValue]
}

/// A model description in the reference's YAML schema, with its scale chosen.
public struct ModelSpec: Sendable {
    public var nc: Int
    public let scale: String?
    public let depth: Double, width: Double, maxChannels: Int
    public let layers: [LayerSpec]
    /// The YAML as a tree, saved into checkpoints so that the architecture travels with the weights.
    public let tree: ConfigValue
    public let source: String

    /// Reads a YAML file; `yolov8n.yaml` selects scale n of `yolov8.yaml` (from the file's folder, or the built-in
    /// models) as the reference does.
    public init(contentsOf path: String, nc: Int? = nil, keypointShape: [Int]? = nil) throws {
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        let scale = ModelSpec.scale(inName: stem)
        let unified = ModelSpec.unifiedName(stem) + ".yaml"
        let candidates: [String] = ([
            path, url.deletingLastPathComponent().appendingPathComponent(unified).path,
            ModelSpec.builtIn(url.lastPathComponent), ModelSpec.builtIn(unified),
        ] as [String?]).compactMap { $0 }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw ModelError("model YAML not found: \(path) (nor \(unified) beside it or built in)")
        }
        let text = try String(contentsOfFile: found, encoding: .utf8)
        let tree: ConfigValue
        do {
            tree = try ConfigValue(yaml: text)
        } catch {
            throw ModelError("\(found) is not valid YAML: \(error)")
        }
        try self.init(tree: tree, scale: tree["scale"]?.string ?? scale, nc: nc, keypointShape: keypointShape, source: found)
    }

    /// Builds from a YAML tree (for example the `yaml` dict stored in a checkpoint). `keypointShape` replaces the
    /// `kpt_shape` of a pose model's tree (a pose dataset's own, as the reference's `data_kpt_shape`).
    public init(tree: ConfigValue, scale: String? = nil, nc: Int? = nil, keypointShape: [Int]? = nil, source: String) throws {
        var tree = tree
        if let keypointShape, case .dict(var entries) = tree,
            let i = entries.firstIndex(where: { $0.0 == .string("kpt_shape") })
        {
            entries[i].1 = .list(keypointShape.map { .int($0) })
            tree = .dict(entries)
        }
        func fail(_ what: String) -> ModelError { ModelError("\(source): \(what)") }
        guard let classes = nc ?? tree["nc"]?.int, classes > 0 else { throw fail("'nc' must be a positive integer") }
        var depth = tree["depth_multiple"]?.double ?? 1, width = tree["width_multiple"]?.double ?? 1
        var maxChannels = Int.max
        var chosen = scale.flatMap { $0.isEmpty ? nil : $0 } ?? tree["scale"]?.string
        if let scales = tree["scales"]?.dict, !scales.isEmpty {
            if chosen == nil || chosen!.isEmpty { chosen = scales[0].0.string }
            guard let row = tree["scales"]?[chosen!]?.list, row.count == 3,
                let d = row[0].double, let w = row[1].double, let c = row[2].int
            else { throw fail("scale '\(chosen ?? "")' is not one of \(scales.map(\.0.description))") }
            (depth, width, maxChannels) = (d, w, c)
        }
        var layers: [LayerSpec] = []
        for section in ["backbone", "head"] {
            guard let rows = tree[section]?.list else { throw fail("'\(section)' must be a list of layers") }
            for (i, row) in rows.enumerated() {
                guard let cells = row.list, cells.count == 4, let repeats = cells[1].int,
                    let module = cells[2].string, let args = cells[3].list
                else { throw fail("\(section) row \(i) must be [from, repeats, module, args], got \(row)") }
                let from = cells[0].int.map { [$0] } ?? cells[0].list?.compactMap(\.int)
                guard let from, !from.isEmpty else { throw fail("\(section) row \(i): bad 'from' \(cells[0])") }
                layers.append(LayerSpec(from: from, repeats: repeats, module: module, args: args))
            }
        }
        self.nc = classes
        self.scale = chosen
        (self.depth, self.width, self.maxChannels) = (depth, width, maxChannels)
        self.layers = layers
        var stored = tree
        if case .dict(var entries) = tree {
            entries.removeAll { $0.0 == .string("nc") || $0.0 == .string("scale") }
            entries.insert((.string("nc"), .int(classes)), at: 0)
            entries.append((.string("scale"), .string(chosen ?? "")))
            stored = .dict(entries)
        }
        self.tree = stored
        self.source = source
    }

    /// The scale letter in a name such as `yolov8s` (empty when there is none).
    static func scale(inName stem: String) -> String? {
        guard let match = stem.firstMatch(of: /yolo(?:e-)?v?\d+([nslmx])/) else { return nil }
        return String(match.1)
    }
    /// `yolov8x` → `yolov8`.
    static func unifiedName(_ stem: String) -> String {
        stem.replacing(/(\d+)[nslmx](.+)?$/) { match in String(match.output.1) + String(match.output.2 ?? "") }
    }

    /// Path of a YAML shipped in the package's resources.
    static func builtIn(_ name: String) -> String? {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "models")?.path
    }

    /// Scales a repeat count by the depth multiple (the reference rounds half to even).
    func scaledRepeats(_ n: Int) -> Int { n > 1 ? Swift.max(Int((Double(n) * depth).rounded(.toNearestOrEven)), 1) : n }
    /// Scales a channel count by the width multiple, capped and rounded up to a multiple of 8.
    func scaledChannels(_ c: Int) -> Int {
        let scaled = Double(Swift.min(c, maxChannels)) * width
        return Int((scaled / 8).rounded(.up)) * 8
    }
}

extension ConfigValue {
    /// Parses YAML text into a tree (keys keep their order).
    public init(yaml text: String) throws {
        guard let node = try Yams.compose(yaml: text) else { self = .null; return }
        self = ConfigValue(node: node)
    }

    init(node: Yams.Node) {
        switch node {
        case .scalar(let scalar):
            let s = scalar.string
            if scalar.style == .plain {
                if let i = Int(s) { self = .int(i); return }
                if let d = Double(s) { self = .double(d); return }
                switch s {
                case "true", "True": self = .bool(true); return
                case "false", "False": self = .bool(false); return
                case "null", "None", "~", "": self = .null; return
                default: break
                }
            }
            self = .string(s)
        case .sequence(let sequence): self = .list(sequence.map { ConfigValue(node: $0) })
        case .mapping(let mapping): self = .dict(mapping.map { (ConfigValue(node: $0.key), ConfigValue(node: $0.value)) })
        default: self = .null
        }
    }
}
