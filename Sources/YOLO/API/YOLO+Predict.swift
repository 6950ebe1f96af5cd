import Foundation
import Vision

extension YOLO {
    /// Detections in `source` (an image, a folder, a glob, a list file or a video) as the reference's
    /// `model.predict()`: one line per image, and with `save` the annotated images in `runs/detect/predict*`.
    /// Returns the results of the images (video frames stream through and are not kept).
    ///
    ///     for result in try model.predict("bus.jpg", conf: 0.5) { print(result.verbose, result.boxes.xyxy) }
    @discardableResult
    public func predict(
        _ source: String, conf: Double? = nil, iou: Double? = nil, imgsz: Int? = nil, classes: [Int]? = nil,
        save: Bool = false, overrides: [String: ConfigValue] = [:]
    ) throws -> [Results] {
        let arguments: [String: ConfigValue?] = [
            "source": .string(source), "conf": .given(conf), "iou": .given(iou), "imgsz": .given(imgsz),
            "classes": classes.map { .list($0.map { .int($0) }) }, "save": .bool(save),
        ]
        return try predict(Config.api("predict", model: path, arguments, overrides: overrides))
    }

    /// Detections in one decoded image (BGR, as `Image(contentsOf:)` gives it).
    public func predict(
        _ image: Image, conf: Double? = nil, iou: Double? = nil, imgsz: Int? = nil, overrides: [String: ConfigValue] = [:]
    ) throws -> Results {
        let arguments: [String: ConfigValue?] = ["conf": .given(conf), "iou": .given(iou), "imgsz": .given(imgsz)]
        let config = try withCheckpointArguments(Config.api("predict", model: path, arguments, overrides: overrides))
        try place(on: config)
        return try Predictor(model: model, config: config).predict(image)
    }

    /// Predicts with every setting in `config` (what `yolo predict` runs; `source` is required). A checkpoint's
    /// training `imgsz` is the default, as in the reference.
    @discardableResult
    public func predict(_ config: Config) throws -> [Results] {
        try model.task.require("predict")
        let config = try withCheckpointArguments(config)
        try place(on: config)
        guard let source = config.string("source"), !source.isEmpty else { throw ConfigError("predict needs source=...") }
        let predictor = Predictor(model: model, config: config)
        predictor.log = log
        var writer: PredictionWriter?
        if config.bool("save") || config.bool("save_txt") || config.bool("save_crop") {
            let run = try RunDirectory.create(task: model.task.rawValue, mode: "predict", project: config.string("project"), name: config.string("name"),
                                              existOK: config.bool("exist_ok"))
            try? FileManager.default.removeItem(at: run.weights)
            writer = PredictionWriter(folder: run.url, config: config)
        }
        return try predictor.run(source: source, writer: writer)
    }
}
