import Foundation
import Torch

/// What `last.pt` holds beyond the model, to resume exactly where a run stopped.
///
/// Layout (ours; `torch.load` opens it as a dict): the model entries of `DetectionModel.checkpointEntries()` with
/// `model` = the EMA weights (what inference uses, as the reference's `ema`), plus `train_model` (the raw weights),
/// `optimizer` (libtorch's optimizer archive as uint8), `scaler` (the GradScaler's state as PyTorch's
/// `state_dict()`, empty without float16 AMP), `epoch` (the last completed, 0-based), `best_fitness`, `updates`
/// (EMA), `train_args` and `date`.
struct TrainingState {
    var epoch: Int
    var bestFitness: Double?
    var updates: Int
    var config: Config
    var model: [(String, Tensor)]
    var ema: [(String, Tensor)]
    var optimizer: [UInt8]
    var scaler: [String: Double]

    static func save(
        model: DetectionModel, ema: ModelEMA, optimizer: Optimizer?, scaler: GradScaler? = nil, epoch: Int,
        bestFitness: Double?, config: Config, to url: URL
    ) throws {
        var entries = ema.model.checkpointEntries()
        entries += [
            ("epoch", .int(epoch)), ("best_fitness", bestFitness.map { .double($0) } ?? .none), ("updates", .int(ema.updates)),
            ("train_args", .dict(config.entries.map { ($0.0, StoredValue($0.1)) })),
            ("date", .string(ISO8601DateFormatter().string(from: Date()))),
        ]
        if let optimizer {
            let bytes = try optimizer.stateBytes()
            entries.append(("optimizer", .tensor(try Tensor(bytes: bytes, shape: [bytes.count], dtype: .uint8))))
            entries.append(("train_model", .dict(model.stateDict().map { ($0.0, .tensor($0.1)) })))
            entries.append(("scaler", .dict((scaler?.state ?? []).map { ($0.0, .double($0.1)) })))
        }
        try Serialization.save(.dict(entries), to: url.path)
    }

    static func load(from path: String) throws -> TrainingState {
        let value = try Serialization.load(from: path)
        func tensors(_ key: String) throws -> [(String, Tensor)] {
            guard case .dict(let entries)? = value[key] else {
                throw ModelError("\(path) cannot resume: it has no '\(key)' (a final or stripped checkpoint?)")
            }
            return try entries.map { name, v in
                guard let t = v.tensor else { throw ModelError("\(path): '\(key).\(name)' is not a tensor") }
                return (name, t)
            }
        }
        guard value["format"]?.string == DetectionModel.formatTag, let epoch = value["epoch"]?.int else {
            throw ModelError("\(path) is not a swift-yolo training checkpoint")
        }
        guard let optimizer = value["optimizer"]?.tensor else {
            throw ModelError("\(path) cannot resume: its optimizer state was stripped (training had finished)")
        }
        var config = Config()
        if case .dict(let args)? = value["train_args"] {
            for (key, v) in args { try? config.set(key, ConfigValue(v)) }
        }
        var scaler: [String: Double] = [:]
        if case .dict(let entries)? = value["scaler"] {
            for (key, v) in entries { scaler[key] = v.double ?? v.int.map(Double.init) }
        }
        return TrainingState(
            epoch: epoch, bestFitness: value["best_fitness"]?.double, updates: value["updates"]?.int ?? 0, config: config,
            model: try tensors("train_model"), ema: try tensors("model"), optimizer: try optimizer.toArray(UInt8.self),
            scaler: scaler)
    }

    /// Rewrites a finished run's checkpoint as the reference strips its own: without what only resuming needs, and
    /// the weights in float16 (half the size; what users ship, and what the reference's `best.pt` holds).
    static func strip(_ url: URL) throws {
        guard case .dict(let entries) = try Serialization.load(from: url.path) else { return }
        let resumeOnly: Set = ["optimizer", "train_model", "scaler"]
        let kept = try entries.filter { !resumeOnly.contains($0.0) }.map { key, value in
            guard key == "model", case .dict(let tensors) = value else { return (key, value) }
            return (key, StoredValue.dict(try tensors.map { name, v in
                guard let t = v.tensor, t.dtype == .float32 else { return (name, v) }
                return (name, .tensor(try t.to(.float16)))
            }))
        }
        try Serialization.save(.dict(kept), to: url.path)
    }
}

/// An epoch's checkpoint that could not be written (a full disk, a file-size limit, an unwritable folder): training
/// stops there, and says what was kept and how to go on.
struct CheckpointWriteError: Error, CustomStringConvertible {
    let epoch: Int
    let lastWeights: URL
    let cause: Error

    var description: String {
        let kept = FileManager.default.fileExists(atPath: lastWeights.path)
            ? "\(lastWeights.path) still holds the last checkpoint that was written whole; once there is room, resume "
                + "with: yolo train resume model=\(lastWeights.path)"
            : "no checkpoint was written yet"
        return "\(cause)\nTraining stopped at epoch \(epoch): its checkpoint could not be written. \(kept)"
    }
}
