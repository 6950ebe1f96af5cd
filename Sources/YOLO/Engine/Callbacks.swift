import Foundation

/// The points of a training run where user code runs, named as the reference's callbacks (`on_train_epoch_end`, ...).
///
///     model.addCallback(.onFitEpochEnd) { trainer in
///         print(trainer.epoch, trainer.metrics)
///         if trainer.fitness ?? 0 > 0.5 { trainer.stop = true }
///     }
public enum TrainingEvent: String, CaseIterable, Sendable {
    /// Once, after the data, model and optimizer are set up, before the first epoch.
    case onTrainStart = "on_train_start"
    case onTrainEpochStart = "on_train_epoch_start"
    /// After each batch's backward pass (and the optimizer step, when accumulation makes one).
    case onTrainBatchEnd = "on_train_batch_end"
    /// After an epoch's batches, before validation: `losses` and `learningRates` are the epoch's.
    case onTrainEpochEnd = "on_train_epoch_end"
    /// After validation and saving: `metrics` are the epoch's. As in the reference, it runs once more after training
    /// with the validation of `best.pt`, at `epoch` one past the last (`isFinalValidation` tells it apart).
    case onFitEpochEnd = "on_fit_epoch_end"
    /// After `last.pt` (and `best.pt` when it improved) is written.
    case onModelSave = "on_model_save"
    /// Once, after the final validation (not after an interruption).
    case onTrainEnd = "on_train_end"
}

/// Closures to run at each `TrainingEvent`, in the order they were added.
public struct TrainingCallbacks {
    public typealias Handler = (Trainer) throws -> Void
    private var handlers: [TrainingEvent: [Handler]] = [:]

    public init() {}

    public mutating func add(_ event: TrainingEvent, _ handler: @escaping Handler) {
        handlers[event, default: []].append(handler)
    }

    public func count(_ event: TrainingEvent) -> Int { handlers[event]?.count ?? 0 }

    /// Removes the handlers of `event`, or all of them.
    public mutating func clear(_ event: TrainingEvent? = nil) {
        if let event { handlers[event] = nil } else { handlers = [:] }
    }

    /// Adds every handler of `other` after this one's.
    public mutating func append(_ other: TrainingCallbacks) {
        for (event, list) in other.handlers { handlers[event, default: []] += list }
    }

    func run(_ event: TrainingEvent, _ trainer: Trainer) throws {
        for handler in handlers[event] ?? [] { try handler(trainer) }
    }
}

/// Where a training run is, for callbacks (the reference's trainer attributes of the same meaning).
public struct TrainingProgress {
    public internal(set) var run: RunDirectory?
    /// The current epoch, from 0 (the reference's `trainer.epoch`), and the number of epochs.
    public internal(set) var epoch = 0, epochs = 0
    /// The batch within the epoch, from 0, and the batches per epoch.
    public internal(set) var batch = 0, batchesPerEpoch = 0
    /// Mean box, cls and dfl loss over the epoch's batches so far (the reference's `tloss`).
    public internal(set) var losses: [Double] = []
    /// The names of `losses` (the task's: box_loss, cls_loss, dfl_loss for detection).
    public internal(set) var lossNames: [String] = ["box_loss", "cls_loss", "dfl_loss"]
    /// Learning rates of the parameter groups at the end of the epoch.
    public internal(set) var learningRates: [Double] = []
    /// The last validation's `metrics/...(B)` and `val/..._loss` values (empty before the first).
    public internal(set) var metrics: [(String, Double)] = []
    public internal(set) var fitness: Double?, bestFitness: Double?
    public internal(set) var isFinalValidation = false
    /// Set by a callback to end training after the current batch: the epoch is still validated and saved, then
    /// training finishes as it would after its last epoch.
    public var stop = false
}

extension Trainer {
    public var epoch: Int { progress.epoch }
    public var epochs: Int { progress.epochs }
    public var metrics: [(String, Double)] { progress.metrics }
    public var fitness: Double? { progress.fitness }
    /// Ends training after the current batch (see `TrainingProgress.stop`).
    public var stop: Bool {
        get { progress.stop }
        set { progress.stop = newValue }
    }
    /// `train/<loss>` (box_loss, cls_loss, dfl_loss; the task's names) with the epoch's mean losses so far.
    public var lossItems: [(String, Double)] {
        zip(progress.lossNames.map { "train/\($0)" }, progress.losses).map { ($0, $1) }
    }
    /// `lr/pg0`, `lr/pg1`, `lr/pg2` as the reference logs them.
    public var learningRateItems: [(String, Double)] {
        progress.learningRates.enumerated().map { ("lr/pg\($0.offset)", $0.element) }
    }

    /// Adds `handler` for `event` (the reference's `add_callback`).
    public func addCallback(_ event: TrainingEvent, _ handler: @escaping TrainingCallbacks.Handler) {
        callbacks.add(event, handler)
    }
}

/// The reference's TensorBoard callbacks: train losses and learning rates at the end of each training epoch, the
/// validation metrics after each fit epoch, at step `epoch + 1`. A file that cannot be written is a warning, never
/// the end of a training run.
final class TensorBoardLogger {
    private var writer: TensorBoardWriter?
    private var warned = false

    func install(on callbacks: inout TrainingCallbacks) {
        callbacks.add(.onTrainStart) { [self] trainer in
            guard let run = trainer.progress.run else { return }
            attempt(trainer) {
                writer = try TensorBoardWriter(folder: run.url)
                trainer.log("TensorBoard: Start with 'tensorboard --logdir \(run.url.path)', view at http://localhost:6006/")
            }
        }
        callbacks.add(.onTrainEpochEnd) { [self] trainer in
            attempt(trainer) { try writer?.add(trainer.lossItems + trainer.learningRateItems, step: trainer.epoch + 1) }
        }
        callbacks.add(.onFitEpochEnd) { [self] trainer in
            attempt(trainer) { try writer?.add(trainer.metrics, step: trainer.epoch + 1) }
        }
        callbacks.add(.onTrainEnd) { [self] _ in writer = nil }
    }

    private func attempt(_ trainer: Trainer, _ body: () throws -> Void) {
        do { try body() } catch {
            if !warned { trainer.log("WARNING: TensorBoard logging stopped: \(error)") }
            (warned, writer) = (true, nil)
        }
    }
}
