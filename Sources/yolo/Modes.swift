import Foundation
import Torch
import Vision
import YOLO

/// What each mode does.
enum Modes {
    static func train(_ config: Config) throws {
        var config = config
        if config.string("model") == nil { try config.set("model", .string("yolov8n.yaml")) }
        let trainer = try Trainer(config)
        let result = try trainer.train()
        if result.interrupted { return }
    }

    static func val(_ config: Config) throws {
        var config = config
        if config["conf"] == .null { try config.set("conf", .double(0.001)) }
        let yolo = try YOLO(try required(config, "model"))
        if config.string("data") == nil, let data = trainingData(of: try required(config, "model")) {
            try config.set("data", .string(data))
        }
        let validator = try Validator.forDataset(config, names: yolo.names, stride: Int(yolo.model.strides.max() ?? 32))
        let output = try validator.run(yolo.model)
        print(Validator.header)
        for line in validator.table(output.results, perClass: config.bool("verbose")) { print(line) }
        print(Validator.speedLine(output))
        let run = try RunDirectory.create(mode: "val", project: config.string("project"), name: config.string("name"),
                                          existOK: config.bool("exist_ok"))
        try? FileManager.default.removeItem(at: run.weights)
        try Validator.metricsJSON(output).write(to: run.url.appendingPathComponent("metrics.json"))
        print("Results saved to \(run.url.path)")
    }

    static func predict(_ config: Config) throws {
        let yolo = try YOLO(try required(config, "model"))
        let source = try required(config, "source")
        let predictor = Predictor(model: yolo.model, config: config)
        let wantsFiles = config.bool("save") || config.bool("save_txt") || config.bool("save_crop")
        var writer: PredictionWriter?
        if wantsFiles {
            let run = try RunDirectory.create(mode: "predict", project: config.string("project"), name: config.string("name"),
                                              existOK: config.bool("exist_ok"))
            try? FileManager.default.removeItem(at: run.weights)
            writer = PredictionWriter(folder: run.url, config: config)
        }
        try predictor.run(source: source, writer: writer)
    }

    static func export(_ config: Config) throws {
        let yolo = try YOLO(try required(config, "model"))
        var format = config.string("format") ?? "onnx"
        if format == "torchscript", config.string("format") == Config()["format"]?.string {
            format = "onnx"  // the reference's default format is TorchScript; ONNX is what this build writes
        }
        let options = ExportOptions(
            imgsz: config.int("imgsz") ?? 640, batch: config.int("batch") ?? 1, dynamic: config.bool("dynamic"),
            half: config.bool("half"), opset: config.int("opset"))
        let start = Date()
        let url = try yolo.export(format: format, options: options)
        let size = ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0) ?? 0
        print(String(format: "Export complete (%.1fs): %@ (%.1f MB)", Date().timeIntervalSince(start), url.path, Double(size) / 1e6))
    }

    /// The model's summary and a timed forward pass at `imgsz` (on `source`, or a test pattern).
    static func info(_ config: Config) throws {
        let yolo = try YOLO(config.string("model") ?? "yolov8n.yaml")
        print(try yolo.info())
        let size = config.int("imgsz") ?? 640
        let x: Tensor
        if let source = config.string("source") {
            x = try Letterbox(size: size).apply(try Image(contentsOf: source)).tensor()
        } else {
            x = try Tensor.linspace(0, 1, steps: size).view(1, 1, 1, size).expand([1, 3, size, size]).contiguous()
        }
        _ = try yolo(x)
        let start = Date()
        let y = try yolo(x)
        print(String(format: "forward %@ -> %@ in %.1f ms", "\(x.shape)", "\(y.shape)", Date().timeIntervalSince(start) * 1000))
    }

    /// The `data` a checkpoint was trained on (the reference's `val` falls back to it).
    static func trainingData(of path: String) -> String? {
        if let ours = try? Serialization.load(from: path), case .dict(let args)? = ours["train_args"] {
            return args.first { $0.0 == "data" }?.1.string
        }
        return (try? ReferenceCheckpoint.load(contentsOf: path))?.metadata["train_args"]?["data"]?.string
    }

    static func required(_ config: Config, _ key: String) throws -> String {
        guard let value = config.string(key), !value.isEmpty else { throw ConfigError("\(config.string("mode") ?? "this mode") needs \(key)=...") }
        return value
    }
}

enum Checks {
    static func report() -> String {
        [
            "swift-yolo \(CommandLineTool.version)", "libtorch \(Runtime.torchVersion), \(Runtime.threads) intra-op threads",
            "CPU cores \(ProcessInfo.processInfo.activeProcessorCount), memory \(ProcessInfo.processInfo.physicalMemory >> 30) GiB",
            "CUDA devices \(Device.cudaCount)" + (Device.mps.isAvailable ? ", MPS available" : ""),
        ].joined(separator: "\n")
    }
}

enum Help {
    static func text(for mode: String) -> String {
        switch mode {
        case "train":
            return """
                yolo train data=DATA.yaml model=yolov8n.yaml epochs=100 imgsz=640 batch=16 [key=value ...]
                  Trains a detector (data defaults to the built-in shapes dataset). resume=True continues the newest run.
                """
        case "val":
            return "yolo val model=best.pt data=DATA.yaml imgsz=640 batch=16 conf=0.001 iou=0.7 [split=val]"
        case "export":
            return "yolo export model=best.pt format=onnx [imgsz=640 batch=1 dynamic=False half=False opset=22]"
        case "predict":
            return "yolo predict model=best.pt source=IMAGE|FOLDER|GLOB|LIST.txt|VIDEO conf=0.25 iou=0.7 imgsz=640 [save_txt=True ...]"
        default:
            return """
                Usage: yolo [TASK] MODE [key=value ...]
                  TASK  detect (default)
                  MODE  train, val, predict, export, info, checks, version, cfg, help
                Arguments take the reference's names and defaults ('yolo cfg' lists them); 'yolo MODE --help' shows a mode.
                Examples:
                  yolo train data=coco8.yaml model=yolov8n.yaml epochs=3 imgsz=320
                  yolo val model=runs/detect/train/weights/best.pt data=coco8.yaml
                  yolo predict model=yolov8n.pt source=bus.jpg
                  yolo export model=best.pt format=onnx
                """
        }
    }
}
