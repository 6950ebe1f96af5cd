import Foundation
import Torch

extension YOLO {
    /// Validates on `data` (by default the dataset the checkpoint was trained on) as the reference's `model.val()`:
    /// prints its table and speed line, writes `metrics.json` into `runs/detect/val*`, and returns what it measured.
    ///
    ///     let metrics = try model.val(data: "coco8.yaml", imgsz: 640)
    ///     print(metrics.box.map, metrics.box.map50, metrics.speed.inference)
    @discardableResult
    public func val(
        data: String? = nil, imgsz: Int? = nil, batch: Int? = nil, conf: Double? = nil, iou: Double? = nil,
        split: String? = nil, overrides: [String: ConfigValue] = [:]
    ) throws -> ValidationOutput {
        let arguments: [String: ConfigValue?] = [
            "data": .given(data), "imgsz": .given(imgsz), "batch": .given(batch), "conf": .given(conf),
            "iou": .given(iou), "split": .given(split),
        ]
        return try val(Config.api("val", model: path, arguments, overrides: overrides))
    }

    /// Validates this model with every setting in `config` (what `yolo val` runs; its `model` is not reloaded).
    /// What `config` was not given of a checkpoint's `imgsz`, `data` and `single_cls` comes from the checkpoint's
    /// training, as in the reference.
    @discardableResult
    public func val(_ config: Config) throws -> ValidationOutput {
        try model.task.require("val")
        var config = try withCheckpointArguments(config)
        try place(on: config)
        if config["conf"] == .null { try config.set("conf", .double(0.001)) }
        // The run folder first: the batch plots and predictions.json are written during the pass.
        let run = try RunDirectory.create(task: model.task.rawValue, mode: "val", project: config.string("project"), name: config.string("name"),
                                          existOK: config.bool("exist_ok"))
        try? FileManager.default.removeItem(at: run.weights)
        let task = try TaskComponents(model: model, config: config)
        let validator = try Validator.forDataset(
            config, names: names, stride: Int(model.strides.max() ?? 32), folder: run.url, masks: task.masks,
            keypoints: task.readsKeypoints)
        validator.log = log
        let output = try validator.run(model)
        let header = Validator.header(for: model)
        log(header)
        let table = validator.table(output, perClass: config.bool("verbose"))
        for line in table { log(line) }
        log(Validator.speedLine(output))
        if validator.files?.saveJSON == true, !(validator.files?.records.isEmpty ?? true) {
            log("Saving \(run.url.appendingPathComponent("predictions.json").path)...")
        }
        try DurableFile.write(Validator.metricsJSON(output), to: run.url.appendingPathComponent("metrics.json"))
        if config.bool("plots") {
            try? RunReport.gather(folder: run.url, title: "Validation: \(run.url.lastPathComponent)", results: output.results,
                                  confusion: output.confusion, table: [header] + table)
                .write(to: run.url.appendingPathComponent("report.html"))
        }
        log("Results saved to \(run.url.path)")
        return output
    }
}

extension ValidationOutput {
    /// The box metrics, as the reference's `metrics.box` (`.map`, `.map50`, `.precision`, ...).
    public var box: DetectionResults { results }
    /// The mask metrics of a segmentation model, as the reference's `metrics.seg`.
    public var seg: DetectionResults? { masks }
}
