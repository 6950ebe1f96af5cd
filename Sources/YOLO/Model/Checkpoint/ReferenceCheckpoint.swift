import Foundation
import Torch

/// What a reference (Ultralytics) `.pt` checkpoint holds, read without Python: the model's state dict, its class
/// names and architecture (`yaml`), and the run's metadata. Plain state dicts (ours) load too.
public struct ReferenceCheckpoint {
    /// Parameters and persistent buffers, in the reference's order and dtypes (fp16 for a finished run).
    public let stateDict: [(String, Tensor)]
    /// The state-dict entries that are buffers (BatchNorm statistics), not parameters.
    public let bufferNames: Set<String>
    /// Class index → name.
    public let names: [Int: String]
    /// The architecture the model was built from (the model YAML as a dict), when the checkpoint has it.
    public let yaml: ConfigValue?
    /// Which object the state came from: "ema", "model", or "state_dict" for a plain state dict.
    public let source: String
    /// Top-level entries that are plain data: `epoch`, `date`, `version`, `train_args`, `train_metrics`, ...
    public let metadata: [String: ConfigValue]

    public static func load(contentsOf path: String) throws -> ReferenceCheckpoint {
        try load(TorchArchive(path: path))
    }

    /// Reads a checkpoint held in memory; `name` is what error messages call it.
    public static func load(data: Data, name: String) throws -> ReferenceCheckpoint {
        try load(TorchArchive(data: data, name: name))
    }

    private static func load(_ archive: TorchArchive) throws -> ReferenceCheckpoint {
        try namingFile(archive.name) {
            try read(pickle: archive.pickle(), storage: archive.storage)
        }
    }

    /// Reads a checkpoint from its pickle and a way to get storage bytes (the fuzz tests' entry point).
    static func load(pickle: [UInt8], name: String, storage: @escaping TensorBuilder.StorageReader) throws
        -> ReferenceCheckpoint
    {
        try namingFile(name) { try read(pickle: pickle, storage: storage) }
    }

    private static func read(pickle: [UInt8], storage: @escaping TensorBuilder.StorageReader) throws
        -> ReferenceCheckpoint
    {
        let root = try Unpickler.unpickle(pickle)
        let tensors = TensorBuilder(readStorage: storage)
        if ModuleStateDict.attributes(of: root) != nil {  // torch.save(model)
            return try fromModule(root, source: "model", metadata: [:], tensors: tensors)
        }
        guard let top = root.dictEntries else {
            throw CheckpointFailure("the pickled object is \(root.kindDescription), not a checkpoint dict")
        }
        var metadata: [String: ConfigValue] = [:]
        for (key, value) in top {
            guard let key = key.string, !["model", "ema", "optimizer"].contains(key) else { continue }
            if let config = ConfigValue(pickle: value) { metadata[key] = config }
        }
        if let ema = root["ema"], !ema.isNone {
            guard ModuleStateDict.attributes(of: ema) != nil else {
                throw CheckpointFailure("'ema' is \(ema.kindDescription), not a torch module")
            }
            return try fromModule(ema, source: "ema", metadata: metadata, tensors: tensors)
        }
        if let model = root["model"], ModuleStateDict.attributes(of: model) != nil {
            return try fromModule(model, source: "model", metadata: metadata, tensors: tensors)
        }
        // A plain state dict: under "model" (ours), under "state_dict", or the whole file.
        for (key, value) in [("model", root["model"]), ("state_dict", root["state_dict"]), ("state_dict", root)] {
            guard let entries = value?.dictEntries, let first = entries.first?.1, TensorBuilder.isTensor(first)
            else { continue }
            return try fromStateDict(
                entries, source: key, names: root["names"], metadata: metadata, tensors: tensors)
        }
        let keys = top.compactMap { $0.0.string }.prefix(20).joined(separator: ", ")
        throw CheckpointFailure("no model in the checkpoint: neither 'ema' nor 'model' is a module (keys: \(keys))")
    }

    private static func fromModule(
        _ module: PickleValue, source: String, metadata: [String: ConfigValue], tensors: TensorBuilder
    ) throws -> ReferenceCheckpoint {
        var collector = ModuleStateDict(tensors: tensors)
        try collector.add(module: module)
        let attributes = ModuleStateDict.attributes(of: module) ?? .none
        var yaml: ConfigValue?
        if let value = attributes["yaml"], !value.isNone {
            guard let config = ConfigValue(pickle: value) else {
                throw CheckpointFailure("the model's yaml is \(value.kindDescription), not plain data")
            }
            yaml = config
        }
        return ReferenceCheckpoint(
            stateDict: collector.entries, bufferNames: collector.bufferNames, names: try names(attributes["names"]),
            yaml: yaml, source: source, metadata: metadata)
    }

    /// A plain name → tensor dict. Buffers cannot be told from parameters there; BatchNorm's are recognised by name.
    private static func fromStateDict(
        _ entries: [(PickleValue, PickleValue)], source: String, names: PickleValue?, metadata: [String: ConfigValue],
        tensors: TensorBuilder
    ) throws -> ReferenceCheckpoint {
        var stateDict: [(String, Tensor)] = []
        var buffers: Set<String> = []
        for (key, value) in entries {
            guard let name = key.string else { throw CheckpointFailure("a state-dict key is \(key.kindDescription)") }
            do {
                stateDict.append((name, try tensors.tensor(from: value)))
            } catch {
                throw CheckpointFailure("\(name): \(error)")
            }
            let leaf = name.split(separator: ".").last ?? ""
            if ["running_mean", "running_var", "num_batches_tracked"].contains(leaf) { buffers.insert(name) }
        }
        return ReferenceCheckpoint(
            stateDict: stateDict, bufferNames: buffers, names: try self.names(names), yaml: metadata["yaml"],
            source: source, metadata: metadata)
    }

    /// `names` as the reference keeps it: a dict of index → name, or a list of names.
    private static func names(_ value: PickleValue?) throws -> [Int: String] {
        guard let value, !value.isNone else { return [:] }
        var names: [Int: String] = [:]
        if let list = value.sequence {
            for (index, item) in list.enumerated() {
                guard let name = item.string else { throw CheckpointFailure("names[\(index)] is not a string") }
                names[index] = name
            }
        } else if let entries = value.dictEntries {
            for (key, item) in entries {
                guard let index = key.int ?? key.string.flatMap({ Int($0) }), let name = item.string else {
                    throw CheckpointFailure("names has an entry that is not index: name")
                }
                names[index] = name
            }
        } else {
            throw CheckpointFailure("names is \(value.kindDescription), not a dict or a list")
        }
        return names
    }
}
