import Foundation
import Torch

/// The end of a completed run: the ranks' final check, stripped checkpoints, the validation of best.pt with its
/// plots, and the run's report.
extension Trainer {
    func finish(_ s: TrainingSession) throws -> TrainResult {
        if s.ddp.worldSize > 1 {  // every rank applied the same averaged steps: a rank that drifted means a broken setup
            let differing = try s.ddp.ranksDiffering(s.model) + s.ddp.ranksDiffering(s.ema.model)
            guard differing == 0 else {
                throw DistributedError("DDP: after training, the weights of \(differing) rank(s) differ from rank 0's")
            }
            log("DDP: the final weights are identical on all \(s.ddp.worldSize) ranks")
        }
        let run = s.run
        guard s.ddp.isMain, let validator = s.validator else {
            return TrainResult(run: run, epochsCompleted: s.completedEpochs, bestFitness: nil, metrics: nil, interrupted: false)
        }
        log("\n\(s.completedEpochs - s.startEpoch) epochs completed in "
            + "\(String(format: "%.3f", Date().timeIntervalSince(s.trainStart) / 3600)) hours.")
        for url in [run.lastWeights, run.bestWeights] where FileManager.default.fileExists(atPath: url.path) {
            try TrainingState.strip(url)
            log("Optimizer stripped from \(url.path)")
        }
        var output: ValidationOutput?
        var table: [String] = []
        if FileManager.default.fileExists(atPath: run.bestWeights.path), config.bool("val") {
            (output, table) = try validateBest(validator, s)
        }
        if config.bool("plots") {
            _ = try? ResultsPlot.write(csv: run.resultsCSV)
            try? RunReport.gather(folder: run.url, title: "Training: \(run.url.lastPathComponent)", results: output?.results,
                                  confusion: output?.confusion, table: table)
                .write(to: run.url.appendingPathComponent("report.html"))
        }
        try event(.onTrainEnd, s)
        log("Results saved to \(run.url.path)")
        return TrainResult(run: run, epochsCompleted: s.completedEpochs, bestFitness: s.bestFitness, metrics: output?.results,
                           interrupted: false, validation: output)
    }

    /// best.pt's validation with per-class lines (and, with plots, its pictures and curves in the run folder); its
    /// metrics reach the loggers one step past the last epoch, as the reference's.
    private func validateBest(_ validator: Validator, _ s: TrainingSession) throws -> (ValidationOutput, [String]) {
        log("\nValidating \(s.run.bestWeights.path)...")
        let best = try DetectionModel.load(contentsOf: s.run.bestWeights.path)
        if s.device != .cpu { try best.to(device: s.device) }
        if config.bool("plots") {
            validator.files = ValidationFiles(folder: s.run.url, plots: true, saveJSON: false, classMap: [], names: s.spec.names)
        }
        let output = try validator.run(best)
        let header = Validator.header(for: best)
        log(header)
        let table = validator.table(output, perClass: true)
        for line in table { log(line) }
        progress.metrics = output.resultsDictionary.dropLast().map { ($0.key, $0.value) }
        (progress.epoch, progress.isFinalValidation) = (s.completedEpochs, true)
        try event(.onFitEpochEnd, s)
        return (output, [header] + table)
    }
}
