import Foundation
import Torch

/// One epoch: its batches (warmup, forward and loss, backward, an optimizer step every `accumulate` batches), then
/// rank 0's validation, results row and checkpoints, and what the ranks do next.
extension Trainer {
    /// The epoch's batches. The epoch's mean losses, or nil when it was interrupted.
    func trainEpoch(_ epoch: Int, _ s: TrainingSession) throws -> [Double]? {
        for (g, group) in s.optimizer.groups.enumerated() where g < 3 {
            group.lr = s.choice.lr * s.schedule.factor(epoch: epoch)
        }
        (progress.epoch, progress.epochs) = (epoch, s.epochs)
        try event(.onTrainEpochStart, s)
        s.model.train()
        if s.train.mosaicClosed(inEpoch: epoch) && !s.train.mosaicClosed(inEpoch: epoch - 1) { log("Closing dataloader mosaic") }
        log(TrainingTable.epochHeader(lossNames: s.lossNames))
        let bar = s.ddp.isMain
            ? ProgressBar(total: s.batchesPerEpoch) : ProgressBar(total: s.batchesPerEpoch, output: ProgressOutput(isTerminal: false) { _ in })
        defer { bar.close() }
        var meanLoss = [Double](repeating: 0, count: s.lossNames.count)
        let epochBatches = s.trainLoader.epoch(epoch)
        var interrupted = false
        for (i, batch) in epochBatches.enumerated() {
            let ni = i + s.batchesPerEpoch * epoch
            let stepEvery = try warmUp(ni, epoch: epoch, s)
            if ni < 3, config.bool("plots"), s.ddp.isMain {  // the reference's first three training batches, as pictures
                try? BatchPlot.save(batch, names: s.spec.names, to: s.run.url.appendingPathComponent("train_batch\(ni).jpg").path)
            }
            let losses = try backward(batch, s)
            meanLoss = zip(meanLoss, losses).map { ($0 * Double(i) + $1) / Double(i + 1) }
            let stepping = ni - s.lastOptimizerStep >= stepEvery
            if stepping {
                try step(s)
                s.lastOptimizerStep = ni
            }
            bar.description = TrainingTable.epochDescription(
                epoch: epoch + 1, epochs: s.epochs, memoryGB: Double(s.device.memoryReserved) / 1_073_741_824,
                losses: meanLoss, instances: batch.targets.size(0), size: batch.shape.width)
            bar.update()
            (progress.batch, progress.losses) = (i, meanLoss)
            try event(.onTrainBatchEnd, s)
            var (stop, interrupt) = (progress.stop, Interruption.requested)
            if s.ddp.worldSize > 1 {
                // What one rank sees ends the epoch on all, at the next optimizer step (or the epoch's last batch):
                // the ranks wait for each other there anyway, and not between steps.
                if stepping || i == s.batchesPerEpoch - 1 {
                    let agreed = try s.ddp.anyRank([stop, interrupt, s.timeUp])
                    (stop, interrupt, s.timeUp) = (agreed[0], agreed[1], agreed[2])
                    progress.stop = stop
                } else {
                    (stop, interrupt) = (false, false)
                }
            }
            if stop { break }  // a callback's stop: this epoch is still validated and saved
            if interrupt { interrupted = true; break }
            if s.timeUp { break }
        }
        if let error = epochBatches.error { throw error }
        return interrupted ? nil : meanLoss
    }

    /// During warmup, the learning rates and (SGD) momentum of iteration `ni`; the batches per optimizer step then.
    private func warmUp(_ ni: Int, epoch: Int, _ s: TrainingSession) throws -> Int {
        guard s.schedule.inWarmup(ni) else { return s.accumulate }
        for (g, group) in s.optimizer.groups.enumerated() {
            group.lr = s.schedule.warmupLR(ni, epoch: epoch, initialLR: s.choice.lr, isBias: g == 2)
            if s.choice.name.lowercased() == "sgd" { try group.set(.momentum, s.schedule.warmupMomentum(ni)) }
        }
        return s.schedule.accumulation(ni)
    }

    /// The batch's loss and its gradients, added to those of the batches since the last step; the loss items.
    private func backward(_ batch: Batch, _ s: TrainingSession) throws -> [Double] {
        let images = try batch.normalizedImages(device: s.device)
        let loss = try s.precision.run { try s.task.loss(s.model.forwardRaw(images), batch: batch) }
        // DDP averages the ranks' gradients; scaled by the world size they add up as one big batch's would.
        try s.scaler.scale(s.ddp.worldSize > 1 ? loss.total * Double(s.ddp.worldSize) : loss.total).backward()
        return loss.items
    }

    /// One optimizer step on the accumulated gradients (averaged over the ranks, unscaled, clipped at norm 10), then
    /// the EMA's update.
    private func step(_ s: TrainingSession) throws {
        let trainable = s.model.parameters().filter(\.requiresGrad)
        try s.ddp.averageGradients(trainable)
        try s.scaler.unscale(trainable)  // clipping sees the true gradients
        try clipGradNorm(trainable, maxNorm: 10)
        try s.scaler.step(s.optimizer, parameters: trainable)  // skipped on inf/NaN gradients
        try s.scaler.update()
        try s.optimizer.zeroGrad()
        try s.ema.update(from: s.model)
        if s.timeLimit?.exceeded == true { s.timeUp = true }
    }

    /// After a complete epoch: the callbacks, rank 0's validation and checkpoints, and the decision every rank takes.
    func endOfEpoch(_ epoch: Int, meanLoss: [Double], _ s: TrainingSession) throws -> EpochDecision {
        let learningRates = s.optimizer.groups.prefix(3).map(\.lr)
        progress.learningRates = learningRates
        try event(.onTrainEpochEnd, s)
        if s.ddp.worldSize > 1 {  // batch-norm statistics differ by rank: all take rank 0's, which are saved
            try s.ddp.broadcastState(s.ema.model)
            try s.ddp.group?.broadcast(s.model.namedBuffers().map(\.1))
        }
        s.completedEpochs = epoch + 1
        var decision = EpochDecision.next
        if s.ddp.isMain, let validator = s.validator {
            decision = try validateAndSave(epoch, meanLoss: meanLoss, learningRates: learningRates, validator, s)
        }
        if s.ddp.worldSize > 1 {  // rank 0's decision and epoch count (time= re-estimates it) hold for all
            let agreed = try s.ddp.fromMain([decision.rawValue, s.epochs])
            decision = EpochDecision(rawValue: agreed[0]) ?? .stop
            if agreed[1] != s.epochs { try setEpochs(agreed[1], s) }
        }
        return decision
    }

    /// Rank 0's end of an epoch: validation of the EMA weights, the fitness that picks best.pt, the epoch's row, the
    /// checkpoints, and whether to go on.
    private func validateAndSave(
        _ epoch: Int, meanLoss: [Double], learningRates: [Double], _ validator: Validator, _ s: TrainingSession
    ) throws -> EpochDecision {
        let finalEpoch = epoch + 1 >= s.epochs
        // An epoch without validation logs zeros, as the reference's initial metrics: every row has the same columns.
        let valLossColumns = s.lossNames.map { "val/\($0)" }
        var metrics: [(String, Double)] = (s.task.metricKinds.flatMap { DetectionResults.keys(suffix: $0) } + valLossColumns)
            .map { ($0, 0) }
        var fitness: Double?
        if config.bool("val") || finalEpoch || s.timeUp || progress.stop {
            let output = try validator.run(s.ema.model, loss: s.task.loss)
            for line in validator.table(output, perClass: false) { log(line) }
            fitness = output.fitness
            metrics = output.resultsDictionary.dropLast().map { ($0.key, $0.value) }
                + zip(valLossColumns, output.loss ?? meanLoss.map { _ in 0 }).map { ($0, $1) }
        }
        let isBest = fitness.map { f in s.bestFitness.map { f >= $0 } ?? true } ?? false
        if isBest { s.bestFitness = fitness }
        let row = zip(s.lossNames.map { "train/\($0)" }, meanLoss).map { ($0, $1) } + metrics
            + learningRates.enumerated().map { ("lr/pg\($0.offset)", $0.element) }
        try ResultsCSV(url: s.run.resultsCSV).append(
            epoch: epoch + 1, time: s.elapsedBefore + Date().timeIntervalSince(s.trainStart), metrics: row)
        try saveCheckpoints(epoch, isBest: isBest, s)
        try event(.onModelSave, s)
        (progress.metrics, progress.fitness, progress.bestFitness) = (metrics, fitness, s.bestFitness)
        try event(.onFitEpochEnd, s)
        if progress.stop {
            log("Stopping training: a callback asked to stop after epoch \(epoch + 1).")
            return .stop
        }
        if let fitness, s.stopper.stop(epoch: epoch + 1, fitness: fitness) {
            log("Stopping training early: no improvement in the last \(s.stopper.patience) epochs. Best results at epoch \(s.stopper.bestEpoch).")
            return .stop
        }
        if Interruption.requested || stopAfterEpochs == epoch + 1 {
            log("\nInterrupted after epoch \(epoch + 1). Resume with: yolo train resume model=\(s.run.lastWeights.path)")
            return .interrupted
        }
        if finalEpoch || s.timeUp || s.timeLimit?.exceeded == true { return .stop }
        if let timeLimit = s.timeLimit {  // as the reference: re-estimate the epochs, and the schedule and close_mosaic with them
            try setEpochs(timeLimit.epochs(afterCompleting: epoch - s.startEpoch + 1), s)
            if epoch >= s.epochs { return .stop }
        }
        return .next
    }

    /// last.pt after every epoch (`epoch`'s state: resuming starts after it), best.pt when it is the best so far,
    /// and every `save_period` epochs a numbered copy.
    func saveCheckpoints(_ epoch: Int, isBest: Bool = false, _ s: TrainingSession) throws {
        do {
            try TrainingState.save(model: s.model, ema: s.ema, optimizer: s.optimizer, scaler: s.scaler, epoch: epoch,
                                   bestFitness: s.bestFitness, config: config, to: s.run.lastWeights)
            if isBest { try DurableFile.copy(s.run.lastWeights, to: s.run.bestWeights) }
            if let period = config.int("save_period"), period > 0, (epoch + 1) % period == 0 {
                try DurableFile.copy(s.run.lastWeights, to: s.run.weights.appendingPathComponent("epoch\(epoch + 1).pt"))
            }
        } catch {
            throw CheckpointWriteError(epoch: epoch + 1, lastWeights: s.run.lastWeights, cause: error)
        }
    }

    /// A new epoch count (time= re-estimates it): the schedule and close_mosaic follow.
    private func setEpochs(_ n: Int, _ s: TrainingSession) throws {
        s.epochs = n
        try config.set("epochs", .int(n))
        s.schedule = TrainingSchedule(config: config, epochs: n, batchesPerEpoch: s.batchesPerEpoch, accumulate: s.accumulate)
        s.train.epochs = n
    }
}
