import Foundation
import Torch

extension YOLO {
    /// The reference's `model.benchmark()`: for each format, its file size, mAP50-95 on `data` and inference time per
    /// image (batch 1, square `imgsz`, conf 0.001). PyTorch is this model run here; ONNX is exported (size measured)
    /// but not run, as this build has no ONNX runtime: its row says so instead of inventing numbers.
    ///
    ///     let report = try YOLO("best.pt").benchmark(data: "coco8.yaml", imgsz: 640)
    ///     print(report.table)
    @discardableResult
    public func benchmark(
        data: String? = nil, imgsz: Int? = nil, format: String? = nil, overrides: [String: ConfigValue] = [:]
    ) throws -> BenchmarkReport {
        let arguments: [String: ConfigValue?] = ["data": .given(data), "imgsz": .given(imgsz), "format": .given(format)]
        return try benchmark(Config.api("benchmark", model: path, arguments, overrides: overrides))
    }

    /// Benchmarks with the settings in `config` (what `yolo benchmark` runs); logs the report and appends it to
    /// `benchmarks.log` in the current directory, as the reference does.
    @discardableResult
    public func benchmark(_ config: Config) throws -> BenchmarkReport {
        try model.task.require("benchmark")
        let config = try withCheckpointArguments(config)
        try place(on: config)
        let options = try BenchmarkOptions(config)
        let start = Date()
        var rows: [BenchmarkRow] = []
        for format in options.formats {
            let name = BenchmarkOptions.formats.first { $0.argument == format }?.name ?? format
            var row = BenchmarkRow(format: name, status: .failed, sizeMB: 0)
            do {
                if format == "-" {
                    row.sizeMB = Double(YOLO.fileSize(URL(fileURLWithPath: path)) ?? 0) / 1_048_576  // MiB, as the reference's file_size
                    row.status = .exportedOnly
                    let output = try benchmarkValidation(options, config: config)
                    let measured = output.instances[YOLO.benchmarkKind(model.task)] ?? output.results
                    (row.metric, row.inferenceMilliseconds, row.status) = (measured.map, output.speed.inference, .success)
                } else {
                    let file = try export(format: format, options: ExportOptions(imgsz: options.imgsz))
                    row.sizeMB = Double(YOLO.fileSize(file) ?? 0) / 1_048_576  // MiB, as the reference's file_size
                    (row.status, row.note) = (.exportedOnly, "exported to \(file.path), not run (this build has no \(name) runtime)")
                }
            } catch {
                log("ERROR: Benchmark failure for \(name): \(error)")
                row.note = "\(error)"
            }
            rows.append(row)
        }
        var report = BenchmarkReport(
            modelName: URL(fileURLWithPath: path).lastPathComponent, data: options.data ?? BuiltInDataset.name + ".yaml",
            imgsz: options.imgsz, seconds: Date().timeIntervalSince(start), rows: rows)
        report.metricKey = "metrics/mAP50-95(\(YOLO.benchmarkKind(model.task)))"
        log(report.text)
        if let handle = FileHandle(forWritingAtPath: "benchmarks.log") ?? {
            FileManager.default.createFile(atPath: "benchmarks.log", contents: nil) ? FileHandle(forWritingAtPath: "benchmarks.log") : nil
        }() {
            _ = try? handle.seekToEnd()
            try? handle.write(contentsOf: Data(report.text.utf8))
            try? handle.close()
        }
        return report
    }

    /// The metric kind the reference's benchmark reports for a task: masks for segment, pose for pose, else boxes.
    static func benchmarkKind(_ task: YOLOTask) -> String {
        switch task {
        case .segment: "M"
        case .pose: "P"
        default: "B"
        }
    }

    /// The reference's benchmark validation: batch 1, square letterbox (rect=False), conf 0.001, no plots; the
    /// built-in dataset labelled for the model's task unless `data` names one.
    func benchmarkValidation(_ options: BenchmarkOptions, config: Config) throws -> ValidationOutput {
        let path = BuiltInDataset.isBuiltIn(options.data)
            ? try BuiltInDataset.shapes(labels: BuiltInDataset.labels(for: model.task.rawValue), progress: false).path
            : options.data!
        let spec = try DatasetSpec(contentsOf: path)
        let task = try TaskComponents(model: model, config: config, keypointSigmas: spec.keypointSigmas)
        let dataset = try ValDataset(
            spec: spec, split: config.string("split") ?? "val", imgsz: options.imgsz, batchSize: 1, rect: false,
            stride: Int(model.strides.max() ?? 32), singleClass: config.bool("single_cls"), keypoints: task.readsKeypoints)
        let loader = try DataLoader(dataset: dataset, batchSize: 1, workers: config.int("workers") ?? 8, shuffle: false)
        loader.masks = task.masks
        var settings = config
        try settings.set("conf", .double(0.001))
        let validator = Validator(loader: loader, names: names, config: settings)
        validator.keypointSigmas = spec.keypointSigmas
        validator.log = log
        return try validator.run(model, showProgress: false)
    }
}
