import Foundation

extension YOLO {
    /// Trains on `data` with the reference's recipe, starting from this model (a YAML: from scratch; a checkpoint:
    /// every weight that fits the dataset's classes), then holds the run's best weights (`last.pt` when no
    /// `best.pt` was written). Any other argument of the reference goes in `overrides` (`["lr0": 0.02]`).
    ///
    ///     let result = try YOLO("yolov8n.pt").train(data: "coco8.yaml", epochs: 3, imgsz: 640)
    ///     print(result.run.bestWeights.path, result.metrics?.map ?? 0)
    @discardableResult
    public func train(
        data: String? = nil, epochs: Int? = nil, imgsz: Int? = nil, batch: Int? = nil, workers: Int? = nil,
        device: String? = nil, project: String? = nil, name: String? = nil, overrides: [String: ConfigValue] = [:]
    ) throws -> TrainResult {
        let arguments: [String: ConfigValue?] = [
            "data": .given(data), "epochs": .given(epochs), "imgsz": .given(imgsz), "batch": .given(batch),
            "workers": .given(workers), "device": .given(device), "project": .given(project), "name": .given(name),
        ]
        return try train(Config.api("train", model: path, arguments, overrides: overrides))
    }

    /// Trains with every setting in `config` (what `yolo train` runs): its `model` decides the starting point.
    @discardableResult
    public func train(_ config: Config) throws -> TrainResult {
        let trainer = try Trainer(try withCheckpointArguments(config))
        trainer.log = log
        trainer.callbacks.append(callbacks)
        let result = try trainer.train()
        if let weights = [result.run.bestWeights, result.run.lastWeights].first(where: {
            FileManager.default.fileExists(atPath: $0.path)
        }) {
            try reload(weights.path)
        }
        return result
    }
}
