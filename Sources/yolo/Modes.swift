import Foundation
import Torch
import Vision
import YOLO

/// What each mode does.
enum Modes {
    // train, val, predict, export and benchmark are the Swift API's methods: one code path for both.
    static func train(_ config: Config, words: [String]) throws {
        // device=0,1,... (given, or the resumed run's): one process per device, each a rank of a DDP training (see
        // DDPLauncher).
        if let devices = try DDPLauncher.devicesToLaunch(config) {
            return try DDPLauncher.launch(arguments: words, devices: devices)
        }
        var config = config
        if config.string("model") == nil {  // the task's built-in YAML (the reference's default would download)
            let byTask = ["detect": "yolov8n.yaml", "segment": "yolov8n-seg.yaml", "pose": "yolov8n-pose.yaml"]
            let task = config.string("task") ?? "detect"
            guard let model = byTask[task] else { throw ConfigError("task=\(task) has no built-in model; give model=...") }
            try config.set("model", .string(model))
        }
        try YOLO(try required(config, "model")).train(config)
    }

    // val and predict fold the batch norms into the convolutions first, as the reference's do (same outputs, faster).
    static func val(_ config: Config) throws {
        let yolo = try YOLO(try required(config, "model"))
        try yolo.fuse()
        try yolo.val(config)
    }

    static func predict(_ config: Config) throws {
        _ = try required(config, "source")
        let yolo = try YOLO(try required(config, "model"))
        try yolo.fuse()
        try yolo.predict(config)
    }

    static func export(_ config: Config) throws { try YOLO(try required(config, "model")).export(config) }

    static func benchmark(_ config: Config) throws {
        _ = try BenchmarkOptions(config)  // a bad format or imgsz fails before the model loads
        try YOLO(try required(config, "model")).benchmark(config)
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

    static func required(_ config: Config, _ key: String) throws -> String {
        guard let value = config.string(key), !value.isEmpty else { throw ConfigError("\(config.string("mode") ?? "this mode") needs \(key)=...") }
        return value
    }
}

enum Checks {
    static func report() -> String {
        [
            "swift-yolo \(CommandLineTool.version)", "libtorch \(Runtime.torchVersion), \(Runtime.threads) intra-op threads",
            "CPU \(CPUInfo.current), \(ProcessInfo.processInfo.activeProcessorCount) cores, memory \(ProcessInfo.processInfo.physicalMemory >> 30) GiB",
            "CUDA available: \(Device.cudaCount > 0), \(Device.cudaCount) device(s)"
                + (Device.mps.isAvailable ? ", MPS available" : "")
                + ", training's fused CPU Conv block: \(Runtime.fusedConvBlock)",
            "on the CPU: amp=True trains in "
                + (TrainingPrecision.lowerPrecision(device: .cpu).map { "\($0) (after its AMP check)" } ?? "float32")
                + ", half=True infers in \(YOLO.inferenceType(half: true, device: .cpu))",
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
        case "benchmark":
            return "yolo benchmark model=best.pt data=DATA.yaml imgsz=640 [format=onnx]  (PyTorch and ONNX rows; ONNX is exported, not run)"
        case "predict":
            return "yolo predict model=best.pt source=IMAGE|FOLDER|GLOB|LIST.txt|VIDEO conf=0.25 iou=0.7 imgsz=640 [save_txt=True ...]"
        default:
            return """
                Usage: yolo [TASK] MODE [key=value ...]
                  TASK  detect (default)
                  MODE  train, val, predict, export, benchmark, info, checks, version, cfg, help
                Arguments take the reference's names and defaults ('yolo cfg' lists them); 'yolo MODE --help' shows a mode.
                Examples:
                  yolo train data=coco8.yaml model=yolov8n.yaml epochs=3 imgsz=320
                  yolo val model=runs/detect/train/weights/best.pt data=coco8.yaml
                  yolo predict model=yolov8n.pt source=bus.jpg
                  yolo export model=best.pt format=onnx
                  yolo benchmark model=best.pt data=coco8.yaml imgsz=640
                """
        }
    }
}
