import Foundation
import Torch

/// Saving and loading models: our own checkpoints (a torch pickle `torch.load` opens as a plain dict) and the
/// reference's `.pt` files.
///
/// Our layout: `{"format": "swift-yolo", "model": {state-dict name: tensor}, "yaml": {...}, "names": [...]}` plus
/// whatever the trainer adds. In Python, `torch.load(f)["model"]` loads into the reference's `DetectionModel`
/// with `strict=True`.
extension DetectionModel {
    static let formatTag = "swift-yolo"

    /// The checkpoint entries describing this model.
    public func checkpointEntries() -> [(String, StoredValue)] {
        [
            ("format", .string(Self.formatTag)),
            ("model", .dict(stateDict().map { ($0.0, .tensor($0.1)) })),
            ("yaml", StoredValue(spec.tree)),
            ("names", .list((0..<classCount).map { .string(names[$0] ?? "class\($0)") })),
        ]
    }

    /// Writes the model (and `extra` entries such as the epoch) to `path`, atomically.
    public func save(to path: String, extra: [(String, StoredValue)] = []) throws {
        try Serialization.save(.dict(checkpointEntries() + extra), to: path)
    }

    /// Loads a checkpoint: ours, or the reference's (`ema` when present, else `model`), rebuilding the
    /// architecture from the YAML it carries. `nc` overrides the class count (the head is then re-initialised).
    public static func load(contentsOf path: String) throws -> DetectionModel {
        try loadWithTrainingArguments(contentsOf: path).model
    }

    /// `load`, with the settings the checkpoint's training ran with (its `train_args`, ours or the reference's;
    /// empty when it has none), read from the same pass over the file.
    public static func loadWithTrainingArguments(contentsOf path: String) throws
        -> (model: DetectionModel, trainArgs: [String: ConfigValue])
    {
        guard FileManager.default.fileExists(atPath: path) else { throw ModelError("checkpoint not found: \(path)") }
        // The pure-Swift reader, which executes nothing, reads ours and the reference's alike.
        let checkpoint = try ReferenceCheckpoint.load(contentsOf: path)
        let ours = checkpoint.metadata["format"]?.string == formatTag
        guard let yaml = ours ? checkpoint.metadata["yaml"] : checkpoint.yaml else {
            throw ModelError("\(path) carries no model YAML to rebuild from")
        }
        var names = checkpoint.names.isEmpty ? nil : checkpoint.names
        if ours, let list = checkpoint.metadata["names"]?.list {
            names = Dictionary(uniqueKeysWithValues: list.enumerated().map { ($0.offset, $0.element.string ?? "\($0.offset)") })
        }
        let model = try DetectionModel(spec: ModelSpec(tree: yaml, source: path), names: names)
        try model.loadStateDict(checkpoint.stateDict)
        model.eval()
        var trainArgs: [String: ConfigValue] = [:]
        if case .dict(let entries)? = checkpoint.metadata["train_args"] {
            for (key, value) in entries { if let key = key.string { trainArgs[key] = value } }
        }
        return (model, trainArgs)
    }
}

extension StoredValue {
    /// A configuration tree as a storable value (dict keys become strings).
    init(_ config: ConfigValue) {
        switch config {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .list(let l): self = .list(l.map(StoredValue.init))
        case .dict(let d): self = .dict(d.map { ($0.0.string ?? $0.0.description, StoredValue($0.1)) })
        }
    }
}

extension ConfigValue {
    /// A stored value as a configuration tree (tensors have no place in one and become null).
    init(_ stored: StoredValue) {
        switch stored {
        case .none, .tensor: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .list(let l): self = .list(l.map(ConfigValue.init))
        case .dict(let d): self = .dict(d.map { (.string($0.0), ConfigValue($0.1)) })
        }
    }
}
