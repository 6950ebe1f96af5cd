import Foundation
import Torch

/// What a training run holds from its setup to its end: the model and its EMA, the data, the optimizer with its
/// schedule, and where the epochs stand. `Trainer.setUp` makes it; the epochs and `finish` work on it.
final class TrainingSession {
    let ddp: TrainingGroup
    let model: DetectionModel
    let task: TaskComponents
    let spec: DatasetSpec
    let device: Device
    let run: RunDirectory
    let train: TrainDataset
    let trainLoader: DataLoader
    /// Rank 0's; the other ranks do not validate.
    let validator: Validator?
    let optimizer: Optimizer
    let choice: OptimizerChoice
    let precision: TrainingPrecision
    let scaler: GradScaler
    let ema: ModelEMA
    /// Batches per optimizer step after warmup.
    let accumulate: Int
    let batchesPerEpoch: Int
    /// With time=, re-estimated after every epoch (and the schedule with it).
    var epochs: Int
    var schedule: TrainingSchedule
    let timed: Bool
    let startEpoch: Int
    var bestFitness: Double?
    var stopper: EarlyStopping
    /// results.csv's time column goes on from the resumed run's.
    let elapsedBefore: Double
    var trainStart = Date()
    var timeLimit: TrainingTimeLimit?
    var timeUp = false
    var lastOptimizerStep = -1
    var completedEpochs: Int

    init(
        ddp: TrainingGroup, model: DetectionModel, task: TaskComponents, spec: DatasetSpec, device: Device,
        run: RunDirectory, train: TrainDataset, trainLoader: DataLoader, validator: Validator?, optimizer: Optimizer,
        choice: OptimizerChoice, precision: TrainingPrecision, scaler: GradScaler, ema: ModelEMA, accumulate: Int,
        epochs: Int, schedule: TrainingSchedule, timed: Bool, startEpoch: Int, bestFitness: Double?,
        patience: Int, elapsedBefore: Double
    ) {
        (self.ddp, self.model, self.task, self.spec, self.device, self.run) = (ddp, model, task, spec, device, run)
        (self.train, self.trainLoader, self.validator) = (train, trainLoader, validator)
        (self.optimizer, self.choice, self.precision, self.scaler, self.ema) = (optimizer, choice, precision, scaler, ema)
        (self.accumulate, self.batchesPerEpoch, self.epochs, self.schedule) = (accumulate, trainLoader.batchCount, epochs, schedule)
        (self.timed, self.startEpoch, self.bestFitness, self.elapsedBefore) = (timed, startEpoch, bestFitness, elapsedBefore)
        stopper = EarlyStopping(patience: patience, best: bestFitness)
        completedEpochs = startEpoch
    }

    var lossNames: [String] { task.loss.names }
}

/// What the ranks do after an epoch (rank 0 decides).
enum EpochDecision: Int {
    case next = 0, stop, interrupted
}

/// Stops when fitness has not improved for `patience` epochs.
struct EarlyStopping {
    let patience: Int
    var best: Double?
    var bestEpoch = 0

    init(patience: Int, best: Double?) { (self.patience, self.best) = (patience > 0 ? patience : Int.max, best) }

    mutating func stop(epoch: Int, fitness: Double) -> Bool {
        if best == nil || fitness >= best! { (best, bestEpoch) = (fitness, epoch) }
        return epoch - bestEpoch >= patience
    }
}
