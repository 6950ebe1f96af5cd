import Torch

/// A task's training loss over a batch: what the trainer and validator call, whatever the task. Its `names` (in
/// the reference's order) head the progress bar, results.csv and the loggers.
public protocol TaskLoss {
    var names: [String] { get }
    func callAsFunction(_ head: HeadOutput, batch: Batch) throws -> LossResult
}

extension DetectionLoss: TaskLoss {
    public var names: [String] { ["box_loss", "cls_loss", "dfl_loss"] }
    public func callAsFunction(_ head: HeadOutput, batch: Batch) throws -> LossResult {
        try self(head, targets: batch.targets)
    }
}

extension SegmentationLoss: TaskLoss {
    public var names: [String] { ["box_loss", "seg_loss", "cls_loss", "dfl_loss", "sem_loss"] }
    public func callAsFunction(_ head: HeadOutput, batch: Batch) throws -> LossResult {
        guard let masks = batch.masks else {
            throw TorchError("segmentation loss: the batch carries no masks (its loader was not given a MaskFormat)")
        }
        return try self(head, targets: batch.targets, masks: masks)
    }
}

/// What the engine takes from a model's task: its loss with the run's gains, and what its batches must carry.
public struct TaskComponents {
    public let loss: any TaskLoss
    /// Segmentation: the masks the loaders rasterise (nil for other tasks).
    public let masks: MaskFormat?
    /// The kinds of metrics its validation reports: B (boxes), M (masks).
    public var metricKinds: [String] { masks == nil ? ["B"] : ["B", "M"] }

    public init(model: DetectionModel, config: Config) throws {
        let gains = LossGains(
            box: config.double("box") ?? 7.5, cls: config.double("cls") ?? 0.5, dfl: config.double("dfl") ?? 1.5)
        let detection = DetectionLoss(model: model, gains: gains)
        switch model.task {
        case .detect:
            (loss, masks) = (detection, nil)
        case .segment:
            let format = MaskFormat(ratio: config.int("mask_ratio") ?? 4, overlap: config["overlap_mask"]?.bool ?? true)
            guard format.ratio > 0 else { throw ConfigError("mask_ratio=\(format.ratio) must be a positive integer") }
            (loss, masks) = (SegmentationLoss(detection: detection, overlap: format.overlap), format)
        default:
            throw ConfigError("\(model.task.rawValue) has no loss in this build")
        }
    }
}
