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
    public private(set) var masks: MaskFormat? = nil
    /// Pose: the datasets read the label rows' keypoints.
    public private(set) var readsKeypoints = false
    /// The kinds of metrics its validation reports: B (boxes), M (masks), P (pose).
    public let metricKinds: [String]

    /// `keypointSigmas`: the dataset's `kpt_oks_sigmas` (pose), when it has them.
    public init(model: DetectionModel, config: Config, keypointSigmas: [Float]? = nil) throws {
        let gains = LossGains(
            box: config.double("box") ?? 7.5, cls: config.double("cls") ?? 0.5, dfl: config.double("dfl") ?? 1.5)
        let detection = DetectionLoss(model: model, gains: gains)
        switch model.task {
        case .detect:
            (loss, metricKinds) = (detection, ["B"])
        case .segment:
            let format = MaskFormat(ratio: config.int("mask_ratio") ?? 4, overlap: config["overlap_mask"]?.bool ?? true)
            guard format.ratio > 0 else { throw ConfigError("mask_ratio=\(format.ratio) must be a positive integer") }
            (loss, masks, metricKinds) = (SegmentationLoss(detection: detection, overlap: format.overlap), format, ["B", "M"])
        case .pose:
            guard let head = model.detect as? Pose else { throw ConfigError("a pose model without a Pose head") }
            loss = try PoseLoss(
                detection: detection, keypointShape: head.keypointShape, sigmas: keypointSigmas,
                poseGain: config.double("pose") ?? 12,
                kobjGain: config.double("kobj") ?? 1)
            (readsKeypoints, metricKinds) = (true, ["B", "P"])
        default:
            throw ConfigError("\(model.task.rawValue) has no loss in this build")
        }
    }
}
