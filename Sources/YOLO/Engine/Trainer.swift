import Foundation
import Torch

/// What a finished (or interrupted) training leaves.
public struct TrainResult {
    public let run: RunDirectory
    public let epochsCompleted: Int
    public let bestFitness: Double?
    /// The final validation of `best.pt` (nil when interrupted or with val=False): its box metrics, and all of it
    /// (mask metrics, losses, speed) in `validation`.
    public let metrics: DetectionResults?
    public let interrupted: Bool
    public var validation: ValidationOutput? = nil
}

/// Trains a detector with the reference's recipe: mosaic-augmented batches, the v8 loss, three parameter groups,
/// warmup, gradient accumulation to a nominal batch of 64, clipping at norm 10, EMA, validation of the EMA weights
/// every epoch, `last.pt`/`best.pt`, `results.csv`, early stopping, and exact resume.
///
///     let trainer = try Trainer(Config(["data": "coco8.yaml", "model": "yolov8n.yaml", "epochs": 3]))
///     let result = try trainer.train()
///
/// Distributed (DDP): when `distributed` is set (from RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, as torchrun
/// sets them), every rank starts from rank 0's weights, reads its share of each epoch's shuffled images with
/// batch / world size images per batch, and steps with the gradients averaged over the ranks (the loss scaled by
/// the world size, as the reference's); rank 0 alone validates, logs, runs the callbacks and writes the run folder,
/// and its decisions (stop, time limit) end every rank at the same point.
public final class Trainer {
    public internal(set) var config: Config
    public var log: (String) -> Void = { print($0) }
    /// Stops after this many epochs as an interruption would (for tests of resume).
    var stopAfterEpochs: Int?
    /// Closures run at the reference's callback points (the TensorBoard logger comes first); see `TrainingEvent`.
    public var callbacks = TrainingCallbacks()
    /// Where the run is, for callbacks.
    public internal(set) var progress = TrainingProgress()
    let resumeState: TrainingState?
    let resumeRun: RunDirectory?
    /// This process's place in a multi-process training; set from the environment (nil: a single process).
    public var distributed: DistributedEnvironment?
    /// The model being trained, once `train()` has made it.
    public internal(set) var model: DetectionModel?
    /// Its exponential moving average (the weights validated and saved).
    public internal(set) var ema: ModelEMA?

    public init(_ config: Config) throws {
        if let path = try Trainer.resumePath(config) {
            let state = try TrainingState.load(from: path)
            var restored = state.config
            try restored.set("resume", .string(path))
            self.config = restored
            resumeState = state
            resumeRun = RunDirectory(url: URL(fileURLWithPath: path).deletingLastPathComponent().deletingLastPathComponent())
        } else {
            self.config = config
            resumeState = nil
            resumeRun = nil
        }
        distributed = try DistributedEnvironment.from()
        TensorBoardLogger().install(on: &callbacks)
    }

    /// The checkpoint to resume from: `resume=path`, or `resume=True` with `model=last.pt`, or the newest
    /// `runs/**/last.pt`.
    static func resumePath(_ config: Config) throws -> String? {
        switch config["resume"] {
        case .string(let path)?: return path
        case .bool(true)?:
            if let model = config.string("model"), model.hasSuffix(".pt") { return model }
            guard let newest = newestLastCheckpoint() else {
                throw ConfigError("resume=True found no runs/**/last.pt to resume; pass resume=path/to/last.pt")
            }
            return newest
        default: return nil
        }
    }

    static func newestLastCheckpoint(in root: String = "runs") -> String? {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return nil }
        var best: (String, Date)?
        while let item = walker.nextObject() as? String {
            guard item.hasSuffix("weights/last.pt") else { continue }
            let path = root + "/" + item
            let date = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil
            if let date, best == nil || date > best!.1 { best = (path, date) }
        }
        return best?.0
    }

    // MARK: Training

    public func train() throws -> TrainResult {
        let ddp = TrainingGroup(group: try distributed?.join())
        let userLog = log
        if !ddp.isMain { log = { _ in } }  // rank 0 speaks for all
        defer { log = userLog }
        let s = try setUp(ddp)
        Interruption.install()
        defer { Interruption.uninstall() }
        (s.trainStart, s.timeLimit) = (Date(), TrainingTimeLimit(hours: config.double("time"), start: Date()))
        try s.optimizer.zeroGrad()
        (progress.run, progress.batchesPerEpoch, progress.bestFitness) = (s.run, s.batchesPerEpoch, s.bestFitness)
        try event(.onTrainStart, s)
        var epoch = s.startEpoch
        while true {
            guard let meanLoss = try trainEpoch(epoch, s) else {
                // The epoch is incomplete: resuming redoes it, starting from the weights it reached.
                if s.ddp.isMain {
                    try TrainingState.save(model: s.model, ema: s.ema, optimizer: s.optimizer, scaler: s.scaler,
                                           epoch: epoch - 1, bestFitness: s.bestFitness, config: config, to: s.run.lastWeights)
                }
                log("\nInterrupted during epoch \(epoch + 1). Saved \(s.run.lastWeights.path).\n"
                    + "Resume with: yolo train resume model=\(s.run.lastWeights.path)")
                return TrainResult(run: s.run, epochsCompleted: s.completedEpochs, bestFitness: s.bestFitness, metrics: nil,
                                   interrupted: true)
            }
            switch try endOfEpoch(epoch, meanLoss: meanLoss, s) {
            case .next: epoch += 1
            case .stop: return try finish(s)
            case .interrupted:
                return TrainResult(run: s.run, epochsCompleted: s.completedEpochs, bestFitness: s.bestFitness, metrics: nil,
                                   interrupted: true)
            }
        }
    }

    /// Callbacks run on rank 0 only, as the reference's loggers.
    func event(_ event: TrainingEvent, _ s: TrainingSession) throws {
        if s.ddp.isMain { try callbacks.run(event, self) }
    }
}
