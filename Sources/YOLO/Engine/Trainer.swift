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
    public private(set) var config: Config
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
    public private(set) var model: DetectionModel?
    /// Its exponential moving average (the weights validated and saved).
    public private(set) var ema: ModelEMA?

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

    // MARK: Setup

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

    // MARK: Training

    public func train() throws -> TrainResult {
        let ddp = TrainingGroup(group: try distributed?.join())
        let userLog = log
        if !ddp.isMain { log = { _ in } }  // rank 0 speaks for all
        defer { log = userLog }
        /// Callbacks run on rank 0 only, as the reference's loggers.
        func event(_ event: TrainingEvent) throws { if ddp.isMain { try callbacks.run(event, self) } }

        var epochs = config.int("epochs") ?? 100  // with time=, re-estimated after every epoch
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
        // Only rank 0 creates a run folder; the others take its path from rank 0 (a guess at the next free name of
        // their own would race with rank 0 creating it).
        let run: RunDirectory
        if let resumeRun {
            run = resumeRun
        } else if ddp.isMain {
            run = try RunDirectory.create(task: model.task.rawValue,
                project: config.string("project"), name: config.string("name"), existOK: config.bool("exist_ok"))
            _ = try ddp.fromMain(run.url.path)
        } else {
            run = RunDirectory(url: URL(fileURLWithPath: try ddp.fromMain("")))
        }
        if resumeState == nil, ddp.isMain { try ArgsYAML.write(config.entries, to: run.argsYAML) }
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
        // Rank 0 validates the whole split; the other ranks have no validator.
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
        let accumulate = Swift.min(Swift.max(Int((Double(nbs) / Double(totalBatch)).rounded(.toNearestOrEven)), 1),
                                   timed ? Int.max : batches * epochs)  // time= does not know its epochs yet
        let nominalAccumulate = Swift.max(Int((Double(nbs) / Double(totalBatch)).rounded(.toNearestOrEven)), 1)
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
        var schedule = TrainingSchedule(config: config, epochs: epochs, batchesPerEpoch: batches, accumulate: accumulate)
        let precision = try TrainingPrecision(config["amp"], device: device) {
            try TrainingPrecision.check(model, device: device, log: log)
        }
        let scaler = try GradScaler(enabled: precision.scalesLoss, device: device)
        let criterion = task.loss
        let lossNames = criterion.names
        progress.lossNames = lossNames

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
        Interruption.install()
        defer { Interruption.uninstall() }
        let trainStart = Date()
        let timeLimit = TrainingTimeLimit(hours: config.double("time"), start: trainStart)
        var timeUp = false
        let elapsedBefore = (try? ResultsCSV(url: run.resultsCSV).read().column("time")?.last) ?? 0
        var stopper = EarlyStopping(patience: config.int("patience") ?? 100, best: bestFitness)
        var lastOptimizerStep = -1
        var completed = startEpoch
        var interrupted = false
        try optimizer.zeroGrad()
        (progress.run, progress.batchesPerEpoch, progress.bestFitness) = (run, batches, bestFitness)
        try event(.onTrainStart)

        func setEpochs(_ n: Int) throws {
            epochs = n
            try config.set("epochs", .int(epochs))
            schedule = TrainingSchedule(config: config, epochs: epochs, batchesPerEpoch: batches, accumulate: accumulate)
            train.epochs = epochs
        }

        var epoch = startEpoch
        while true {
            for (g, group) in optimizer.groups.enumerated() where g < 3 {
                group.lr = choice.lr * schedule.factor(epoch: epoch)
            }
            (progress.epoch, progress.epochs) = (epoch, epochs)
            try event(.onTrainEpochStart)
            model.train()
            if train.mosaicClosed(inEpoch: epoch) && !train.mosaicClosed(inEpoch: epoch - 1) { log("Closing dataloader mosaic") }
            log(TrainingTable.epochHeader(lossNames: lossNames))
            let bar = ddp.isMain ? ProgressBar(total: batches) : ProgressBar(total: batches, output: ProgressOutput(isTerminal: false) { _ in })
            var meanLoss = [Double](repeating: 0, count: lossNames.count)
            let epochBatches = trainLoader.epoch(epoch)
            for (i, batch) in epochBatches.enumerated() {
                let ni = i + batches * epoch
                var stepEvery = accumulate
                if schedule.inWarmup(ni) {
                    stepEvery = schedule.accumulation(ni)
                    for (g, group) in optimizer.groups.enumerated() {
                        group.lr = schedule.warmupLR(ni, epoch: epoch, initialLR: choice.lr, isBias: g == 2)
                        if choice.name.lowercased() == "sgd" { try group.set(.momentum, schedule.warmupMomentum(ni)) }
                    }
                }
                if ni < 3, config.bool("plots"), ddp.isMain {  // the reference's first three training batches, as pictures
                    try? BatchPlot.save(batch, names: spec.names, to: run.url.appendingPathComponent("train_batch\(ni).jpg").path)
                }
                let images = try batch.normalizedImages(device: device)
                let loss = try precision.run { try criterion(model.forwardRaw(images), batch: batch) }
                // DDP averages the ranks' gradients; scaled by the world size they add up as one big batch's would.
                try scaler.scale(ddp.worldSize > 1 ? loss.total * Double(ddp.worldSize) : loss.total).backward()
                meanLoss = zip(meanLoss, loss.items).map { ($0 * Double(i) + $1) / Double(i + 1) }
                let stepping = ni - lastOptimizerStep >= stepEvery
                if stepping {
                    let trainable = model.parameters().filter(\.requiresGrad)
                    try ddp.averageGradients(trainable)
                    try scaler.unscale(trainable)  // clipping sees the true gradients
                    try clipGradNorm(trainable, maxNorm: 10)
                    try scaler.step(optimizer, parameters: trainable)  // skipped on inf/NaN gradients
                    try scaler.update()
                    try optimizer.zeroGrad()
                    try ema.update(from: model)
                    lastOptimizerStep = ni
                    if timeLimit?.exceeded == true { timeUp = true }
                }
                bar.description = TrainingTable.epochDescription(
                    epoch: epoch + 1, epochs: epochs, memoryGB: Double(device.memoryReserved) / 1_073_741_824, losses: meanLoss,
                    instances: batch.targets.size(0), size: batch.shape.width)
                bar.update()
                (progress.batch, progress.losses) = (i, meanLoss)
                try event(.onTrainBatchEnd)
                var (stop, interrupt) = (progress.stop, Interruption.requested)
                if ddp.worldSize > 1 {
                    // What one rank sees ends the epoch on all, at the next optimizer step (or the epoch's last batch):
                    // the ranks wait for each other there anyway, and not between steps.
                    if stepping || i == batches - 1 {
                        let agreed = try ddp.anyRank([stop, interrupt, timeUp])
                        (stop, interrupt, timeUp) = (agreed[0], agreed[1], agreed[2])
                        progress.stop = stop
                    } else {
                        (stop, interrupt) = (false, false)
                    }
                }
                if stop { break }  // a callback's stop: this epoch is still validated and saved
                if interrupt { interrupted = true; break }
                if timeUp { break }
            }
            bar.close()
            if let error = epochBatches.error { throw error }
            if interrupted {
                // The epoch is incomplete: resuming redoes it, starting from the weights it reached.
                if ddp.isMain {
                    try TrainingState.save(model: model, ema: ema, optimizer: optimizer, scaler: scaler, epoch: epoch - 1,
                                           bestFitness: bestFitness, config: config, to: run.lastWeights)
                }
                log("\nInterrupted during epoch \(epoch + 1). Saved \(run.lastWeights.path).\n"
                    + "Resume with: yolo train resume model=\(run.lastWeights.path)")
                break
            }
            let learningRates = optimizer.groups.prefix(3).map(\.lr)
            progress.learningRates = learningRates
            try event(.onTrainEpochEnd)
            if ddp.worldSize > 1 {  // batch-norm statistics differ by rank: all take rank 0's, which are saved
                try ddp.broadcastState(ema.model)
                try ddp.group?.broadcast(model.namedBuffers().map(\.1))
            }
            let finalEpoch = epoch + 1 >= epochs
            var decision = EpochDecision.next
            completed = epoch + 1
            /// Rank 0's end of an epoch: validation of the EMA weights, the fitness that picks best.pt, the epoch's
            /// row, the checkpoints, and whether to go on.
            func endOfEpoch(_ validator: Validator) throws -> EpochDecision {
                // An epoch without validation logs zeros, as the reference's initial metrics: every row has the same columns.
                let valLossColumns = lossNames.map { "val/\($0)" }
                var metrics: [(String, Double)] = (task.metricKinds.flatMap { DetectionResults.keys(suffix: $0) } + valLossColumns)
                    .map { ($0, 0) }
                var fitness: Double?
                if config.bool("val") || finalEpoch || timeUp || progress.stop {
                    let output = try validator.run(ema.model, loss: criterion)
                    for line in validator.table(output, perClass: false) { log(line) }
                    fitness = output.fitness
                    metrics = output.resultsDictionary.dropLast().map { ($0.key, $0.value) }
                        + zip(valLossColumns, output.loss ?? meanLoss.map { _ in 0 }).map { ($0, $1) }
                }
                let isBest = fitness.map { f in bestFitness.map { f >= $0 } ?? true } ?? false
                if isBest { bestFitness = fitness }
                let row = zip(lossNames.map { "train/\($0)" }, meanLoss).map { ($0, $1) } + metrics
                    + learningRates.enumerated().map { ("lr/pg\($0.offset)", $0.element) }
                try ResultsCSV(url: run.resultsCSV).append(
                    epoch: epoch + 1, time: elapsedBefore + Date().timeIntervalSince(trainStart), metrics: row)
                do {
                    try TrainingState.save(model: model, ema: ema, optimizer: optimizer, scaler: scaler, epoch: epoch,
                                           bestFitness: bestFitness, config: config, to: run.lastWeights)
                    if isBest { try DurableFile.copy(run.lastWeights, to: run.bestWeights) }
                    if let period = config.int("save_period"), period > 0, (epoch + 1) % period == 0 {
                        try DurableFile.copy(run.lastWeights, to: run.weights.appendingPathComponent("epoch\(epoch + 1).pt"))
                    }
                } catch {
                    throw CheckpointWriteError(epoch: epoch + 1, lastWeights: run.lastWeights, cause: error)
                }
                try event(.onModelSave)
                (progress.metrics, progress.fitness, progress.bestFitness) = (metrics, fitness, bestFitness)
                try event(.onFitEpochEnd)
                if progress.stop {
                    log("Stopping training: a callback asked to stop after epoch \(epoch + 1).")
                    return .stop
                }
                if let fitness, stopper.stop(epoch: epoch + 1, fitness: fitness) {
                    log("Stopping training early: no improvement in the last \(stopper.patience) epochs. Best results at epoch \(stopper.bestEpoch).")
                    return .stop
                }
                if Interruption.requested || stopAfterEpochs == epoch + 1 {
                    log("\nInterrupted after epoch \(epoch + 1). Resume with: yolo train resume model=\(run.lastWeights.path)")
                    return .interrupted
                }
                if finalEpoch || timeUp || timeLimit?.exceeded == true { return .stop }
                if let timeLimit {  // as the reference: re-estimate the epochs, and the schedule and close_mosaic with them
                    try setEpochs(timeLimit.epochs(afterCompleting: epoch - startEpoch + 1))
                    if epoch >= epochs { return .stop }
                }
                return .next
            }
            if ddp.isMain, let validator {
                decision = try endOfEpoch(validator)
            }
            if ddp.worldSize > 1 {  // rank 0's decision and epoch count (time= re-estimates it) hold for all
                let agreed = try ddp.fromMain([decision.rawValue, epochs])
                decision = EpochDecision(rawValue: agreed[0]) ?? .stop
                if agreed[1] != epochs { try setEpochs(agreed[1]) }
            }
            if decision == .interrupted { interrupted = true }
            if decision != .next { break }
            epoch += 1
        }
        if interrupted {
            return TrainResult(run: run, epochsCompleted: completed, bestFitness: bestFitness, metrics: nil, interrupted: true)
        }
        if ddp.worldSize > 1 {  // every rank applied the same averaged steps: a rank that drifted means a broken setup
            let differing = try ddp.ranksDiffering(model) + ddp.ranksDiffering(ema.model)
            guard differing == 0 else {
                throw DistributedError("DDP: after training, the weights of \(differing) rank(s) differ from rank 0's")
            }
            log("DDP: the final weights are identical on all \(ddp.worldSize) ranks")
        }
        guard ddp.isMain, let validator else {
            return TrainResult(run: run, epochsCompleted: completed, bestFitness: nil, metrics: nil, interrupted: false)
        }
        log("\n\(completed - startEpoch) epochs completed in \(String(format: "%.3f", Date().timeIntervalSince(trainStart) / 3600)) hours.")
        var finalMetrics: DetectionResults?
        var finalOutput: ValidationOutput?
        var finalReport: (confusion: ConfusionMatrix?, table: [String]) = (nil, [])
        for url in [run.lastWeights, run.bestWeights] where FileManager.default.fileExists(atPath: url.path) {
            try TrainingState.strip(url)
            log("Optimizer stripped from \(url.path)")
        }
        if FileManager.default.fileExists(atPath: run.bestWeights.path), config.bool("val") {
            log("\nValidating \(run.bestWeights.path)...")
            let best = try DetectionModel.load(contentsOf: run.bestWeights.path)
            if device != .cpu { try best.to(device: device) }
            if config.bool("plots") {  // val_batch pictures, curves and confusion matrices into the run folder
                validator.files = ValidationFiles(folder: run.url, plots: true, saveJSON: false,
                                                  classMap: [], names: spec.names)
            }
            let output = try validator.run(best)
            let header = Validator.header(for: best)
            log(header)
            let table = validator.table(output, perClass: true)
            for line in table { log(line) }
            finalReport = (output.confusion, [header] + table)
            finalMetrics = output.results
            finalOutput = output
            // As the reference: the best weights' metrics reach the loggers one step past the last epoch.
            progress.metrics = output.resultsDictionary.dropLast().map { ($0.key, $0.value) }
            (progress.epoch, progress.isFinalValidation) = (completed, true)
            try event(.onFitEpochEnd)
        }
        if config.bool("plots") {
            _ = try? ResultsPlot.write(csv: run.resultsCSV)
            try? RunReport.gather(folder: run.url, title: "Training: \(run.url.lastPathComponent)", results: finalMetrics,
                                  confusion: finalReport.confusion, table: finalReport.table)
                .write(to: run.url.appendingPathComponent("report.html"))
        }
        try event(.onTrainEnd)
        log("Results saved to \(run.url.path)")
        return TrainResult(run: run, epochsCompleted: completed, bestFitness: bestFitness, metrics: finalMetrics, interrupted: false,
                           validation: finalOutput)
    }

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
