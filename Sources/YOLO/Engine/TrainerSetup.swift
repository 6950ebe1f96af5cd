import Foundation
import Torch

/// A run's setup: the dataset and model, the run folder, the loaders and validator, the optimizer and its schedule,
/// and what a resumed run restores.
extension Trainer {
    /// The dataset YAML: `data`, or the built-in shapes dataset when none is given.
    func datasetPath() throws -> String {
        guard let data = config.string("data"), !data.isEmpty, data != BuiltInDataset.name, data != "\(BuiltInDataset.name).yaml"
        else { return try BuiltInDataset.shapes(labels: BuiltInDataset.labels(for: config.string("task"))).path }
        return data
    }

    /// The model for `data`'s classes: from a YAML, or from a checkpoint's architecture and every weight that fits.
    /// A pose model takes the dataset's `kpt_shape`.
    func makeModel(classes: Int, names: [Int: String], keypointShape: [Int]? = nil) throws -> DetectionModel {
        let path = config.string("model") ?? "yolov8n.yaml"
        if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
            return try DetectionModel(spec: ModelSpec(contentsOf: path, nc: classes, keypointShape: keypointShape), names: names)
        }
        let pretrained = try DetectionModel.load(contentsOf: path)
        let model = try DetectionModel(
            spec: ModelSpec(tree: pretrained.spec.tree, nc: classes, keypointShape: keypointShape, source: path), names: names)
        let shapes = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.0, $0.1.shape) })
        let fitting = pretrained.stateDict().filter { shapes[$0.0] == $0.1.shape }
        try model.loadStateDict(fitting, strict: false)
        log("Transferred \(fitting.count)/\(shapes.count) items from pretrained weights")
        return model
    }

    /// Layers named by `freeze` (a count of leading layers or a list of indices), and always the DFL weights.
    func freeze(_ model: DetectionModel) throws {
        var prefixes = [".dfl"]
        switch config["freeze"] {
        case .int(let n)?: prefixes += (0..<n).map { "model.\($0)." }
        case .list(let items)?: prefixes += items.compactMap(\.int).map { "model.\($0)." }
        default: break
        }
        for (name, p) in model.namedParameters() where prefixes.contains(where: { name.contains($0) }) {
            if name.hasPrefix("model.") && !name.contains(".dfl") { log("Freezing layer '\(name)'") }
            try p.requiresGrad(false)
        }
    }

    func setUp(_ ddp: TrainingGroup) throws -> TrainingSession {
        let epochs = config.int("epochs") ?? 100
        let timed = (config.double("time") ?? 0) > 0
        let totalBatch = config.int("batch") ?? 16
        guard totalBatch >= ddp.worldSize else {
            throw ConfigError("batch=\(totalBatch) cannot be split over \(ddp.worldSize) ranks; use batch=\(ddp.worldSize * 8)")
        }
        let batchSize = totalBatch / ddp.worldSize  // per rank, as the reference's DDP loaders
        if let distributed {
            log("DDP: rank \(ddp.rank) of \(ddp.worldSize) joined at \(distributed.masterAddress):\(distributed.masterPort); "
                + "batch \(totalBatch) = \(ddp.worldSize) x \(batchSize) per rank")
        }
        let imgsz = config.int("imgsz") ?? 640
        let seed = UInt64(Swift.max(config.int("seed") ?? 0, 0))
        Runtime.seed(seed)

        // The model, for the dataset's classes (and keypoints); its head decides the task.
        let spec = try DatasetSpec(contentsOf: try datasetPath())
        let names = Dictionary(uniqueKeysWithValues: spec.names.enumerated().map { ($0.offset, $0.element) })
        let classes = config.bool("single_cls") ? 1 : spec.nc
        let model = try makeModel(
            classes: classes, names: names, keypointShape: spec.keypointShape.map { [$0.count, $0.dims] })
        try model.task.require("train")
        try config.set("task", .string(model.task.rawValue))  // the head decides, and the run carries it
        if model.task == .pose, spec.keypointShape == nil {
            throw ConfigError("No `kpt_shape` in \(try datasetPath()): pose training needs it (e.g. kpt_shape: [17, 3])")
        }
        let task = try TaskComponents(model: model, config: config, keypointSigmas: spec.keypointSigmas)
        // A DDP rank takes the device at its LOCAL_RANK; YOLO_DDP_CPU=1 ranks stay on the CPU.
        let device = try DeviceSelection(
            config["device"], localRank: distributed?.localRank,
            cpuRanks: ProcessInfo.processInfo.environment["YOLO_DDP_CPU"] == "1").device
        if device != .cpu { try model.to(device: device) }
        try freeze(model)
        try ddp.broadcastState(model)
        self.model = model
        let run = try runDirectory(ddp, task: model.task)
        if resumeState == nil, ddp.isMain { try ArgsYAML.write(config.entries, to: run.argsYAML) }

        // Data: the augmented training split (a shard of it per rank) and, on rank 0, the validation split.
        let rect = config.bool("rect") && ddp.worldSize == 1
        if config.bool("rect"), !rect { log("WARNING: 'rect=True' is incompatible with Multi-GPU training, setting 'rect=False'") }
        var hyp = try AugmentConfig(Dictionary(uniqueKeysWithValues: config.entries.filter { AugmentConfig.keys.contains($0.0) }))
        hyp.closeMosaic = config.int("close_mosaic") ?? 10
        let silent: DataLog = { _ in }
        let dataLog = ddp.isMain ? DataLogging.standardError : silent  // rank 0 reports the dataset's warnings
        let train = try TrainDataset(
            spec: spec, imgsz: imgsz, hyp: hyp, batchSize: batchSize, epochs: epochs, cache: ImageCaching(config["cache"]),
            singleClass: config.bool("single_cls"), fraction: try ImageFraction(config["fraction"]), rect: rect,
            stride: Swift.max(Int(model.strides.max() ?? 32), 32), keypoints: task.readsKeypoints,
            log: dataLog)
        let valBatch = batchSize * 2
        let workers = config.int("workers") ?? 8
        let shard = ddp.group == nil ? nil : try DataShard(rank: ddp.rank, worldSize: ddp.worldSize)
        let trainLoader = try DataLoader(dataset: train, batchSize: batchSize, workers: workers, shuffle: true, seed: seed,
                                         shard: shard)
        trainLoader.masks = task.masks
        var val: ValDataset?
        var validator: Validator?
        if ddp.isMain {
            let dataset = try ValDataset(spec: spec, split: config.string("split") ?? "val", imgsz: imgsz, batchSize: valBatch,
                                         cache: ImageCaching(config["cache"]), singleClass: config.bool("single_cls"),
                                         keypoints: task.readsKeypoints)
            val = dataset
            let loader = try DataLoader(dataset: dataset, batchSize: valBatch, workers: workers, shuffle: false, seed: seed)
            loader.masks = task.masks
            validator = Validator(loader: loader, names: names, config: config)
            validator?.keypointSigmas = spec.keypointSigmas
        }

        // Optimizer: the nominal batch (nbs) sets gradient accumulation and scales weight decay.
        let nbs = config.int("nbs") ?? 64
        let batches = trainLoader.batchCount
        // From the whole batch over all ranks, as the reference's.
        let nominalAccumulate = Swift.max(Int((Double(nbs) / Double(totalBatch)).rounded(.toNearestOrEven)), 1)
        let accumulate = Swift.min(nominalAccumulate, timed ? Int.max : batches * epochs)  // time= does not know its epochs yet
        let weightDecay = (config.double("weight_decay") ?? 5e-4) * Double(totalBatch * nominalAccumulate) / Double(nbs)
        let iterations = Int((Double(train.count) / Double(Swift.max(totalBatch, nbs))).rounded(.up)) * epochs
        let choice = OptimizerChoice.choose(
            name: config.string("optimizer") ?? "auto", lr: config.double("lr0") ?? 0.01,
            momentum: config.double("momentum") ?? 0.937, classes: classes, iterations: iterations)
        if let bias = choice.warmupBiasLR { try config.set("warmup_bias_lr", .double(bias)) }
        let groups = ParameterGroups(model)
        let optimizer = try choice.make(groups, weightDecay: weightDecay)
        log("optimizer: \(choice.name)(lr=\(choice.lr), momentum=\(choice.momentum)) with parameter groups "
            + "\(groups.normWeights.count) weight(decay=0.0), \(groups.decayed.count) weight(decay=\(weightDecay)), "
            + "\(groups.biases.count) bias(decay=0.0)")
        let schedule = TrainingSchedule(config: config, epochs: epochs, batchesPerEpoch: batches, accumulate: accumulate)
        let precision = try TrainingPrecision(config["amp"], device: device) {
            try TrainingPrecision.check(model, device: device, dtype: $0, log: log)
        }
        let scaler = try GradScaler(enabled: precision.scalesLoss, device: device)
        progress.lossNames = task.loss.names

        // Resume: weights, EMA, optimizer state and progress of the last completed epoch.
        var ema = try ModelEMA(model)
        var startEpoch = 0
        var bestFitness: Double?
        if let state = resumeState {
            try model.loadStateDict(state.model)
            ema = try ModelEMA(model)
            try ema.load(state.ema, updates: state.updates)
            try optimizer.loadState(state.optimizer)
            try scaler.load(state.scaler)
            startEpoch = state.epoch + 1
            bestFitness = state.bestFitness
            if ddp.isMain { try ResultsCSV(url: run.resultsCSV).keepRows(throughEpoch: startEpoch) }
            guard startEpoch < epochs else {
                throw ConfigError("\(config.string("resume") ?? "") finished all \(epochs) epochs; nothing to resume")
            }
            log("Resuming training from \(config.string("resume") ?? "") from epoch \(startEpoch + 1) to \(epochs) total epochs")
        } else if ddp.isMain {
            // A fresh run in a reused folder (exist_ok=True, or a run killed before its first checkpoint) starts its
            // results.csv anew: rows of another run would read as this one's (the reference appends to them).
            if FileManager.default.fileExists(atPath: run.resultsCSV.path) { try FileManager.default.removeItem(at: run.resultsCSV) }
        }
        self.ema = ema

        if config.bool("plots"), ddp.isMain {  // the reference plots the training labels once its pipeline is set up
            let url = run.url.appendingPathComponent("labels.jpg")
            log("Plotting labels to \(url.path)... ")
            try? LabelsPlot(labels: train.labels, names: names).write(to: url)
        }
        log("Using \(train.count) train, \(val?.count ?? 0) val images at imgsz=\(imgsz)\nUsing \(trainLoader.workers) dataloader workers\n"
            + "Logging results to \(run.url.path)\nStarting training for "
            + (timed ? "\(config.double("time") ?? 0) hours..." : "\(epochs) epochs..."))
        return TrainingSession(
            ddp: ddp, model: model, task: task, spec: spec, device: device, run: run, train: train, trainLoader: trainLoader,
            validator: validator, optimizer: optimizer, choice: choice, precision: precision, scaler: scaler, ema: ema,
            accumulate: accumulate, epochs: epochs, schedule: schedule, timed: timed, startEpoch: startEpoch,
            bestFitness: bestFitness, patience: config.int("patience") ?? 100,
            elapsedBefore: (try? ResultsCSV(url: run.resultsCSV).read().column("time")?.last) ?? 0)
    }

    /// The run folder: the resumed run's, or a new one that rank 0 creates and the other ranks take from it (a guess
    /// at the next free name of their own would race with rank 0 creating it).
    private func runDirectory(_ ddp: TrainingGroup, task: YOLOTask) throws -> RunDirectory {
        if let resumeRun { return resumeRun }
        guard ddp.isMain else { return RunDirectory(url: URL(fileURLWithPath: try ddp.fromMain(""))) }
        let run = try RunDirectory.create(task: task.rawValue,
            project: config.string("project"), name: config.string("name"), existOK: config.bool("exist_ok"))
        _ = try ddp.fromMain(run.url.path)
        return run
    }
}
