import Foundation
import Torch

/// The entry point, as the reference's `YOLO(...)`: a model from a YAML or a checkpoint, and the modes.
///
///     let model = try YOLO("yolov8n.pt")                       // the reference's checkpoint, or ours
///     try model.train(data: "coco8.yaml", epochs: 3, imgsz: 640)  // then `model` holds the best weights
///     let metrics = try model.val()                            // metrics.box.map, metrics.box.map50, ...
///     let results = try model.predict("bus.jpg", conf: 0.25)   // [Results]
///     let onnx = try model.export(format: .onnx)               // the file written
///     let fresh = try YOLO("yolov8s.yaml", nc: 3)              // a new model for 3 classes
public final class YOLO {
    /// The network (after `train`, the best weights of that run).
    public private(set) var model: DetectionModel
    /// What the model was loaded from: the YAML or checkpoint path given, or after `train` the run's `best.pt`.
    public private(set) var path: String
    /// What a loaded checkpoint's training ran with and later modes take when not given theirs (the reference's
    /// `_reset_ckpt_args`: `imgsz`, `data`, `task`, `single_cls`); empty for a model built from a YAML.
    public private(set) var checkpointArguments: [String: ConfigValue] = [:]
    /// Callbacks that each `train` registers on its trainer (see `addCallback`).
    public private(set) var callbacks = TrainingCallbacks()
    /// Where the modes print their lines (`{ _ in }` silences them).
    public var log: (String) -> Void = { print($0) }

    /// Loads `path`: a model YAML (built-in names such as `yolov8n.yaml` work anywhere) or a `.pt` checkpoint.
    public init(_ path: String, nc: Int? = nil) throws {
        self.path = path
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        if ext == "yaml" || ext == "yml" {
            model = try DetectionModel(spec: ModelSpec(contentsOf: path, nc: nc))
        } else {
            let (loaded, trainArgs) = try DetectionModel.loadWithTrainingArguments(contentsOf: path)
            checkpointArguments = YOLO.keptArguments(trainArgs)
            if let nc, nc != loaded.classCount {
                // A new model for a different class count takes every trained tensor whose shape still fits.
                let fresh = try DetectionModel(spec: ModelSpec(tree: loaded.spec.tree, nc: nc, source: path))
                let shapes = Dictionary(uniqueKeysWithValues: fresh.stateDict().map { ($0.0, $0.1.shape) })
                try fresh.loadStateDict(loaded.stateDict().filter { shapes[$0.0] == $0.1.shape }, strict: false)
                model = fresh
            } else {
                model = loaded
            }
        }
    }

    public var names: [Int: String] { model.names }

    /// The reference's summary: layers, parameters, gradients, GFLOPs at 640.
    public func info() throws -> ModelInfo { try model.info() }

    /// Decoded predictions for a batch of RGB images in [0, 1] (NCHW): boxes as centre x, y, width, height in
    /// input pixels, then class probabilities.
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        try withNoGrad { try model(images) }
    }

    /// Folds batch norms into convolutions for faster inference.
    public func fuse() throws { try model.fuse() }

    /// Saves the model as a checkpoint.
    public func save(to path: String) throws { try model.save(to: path) }

    /// Runs `handler` at `event` of every later `train` (the reference's `add_callback`).
    ///
    ///     model.addCallback(.onFitEpochEnd) { trainer in
    ///         if (trainer.fitness ?? 0) > 0.5 { trainer.stop = true }
    ///     }
    public func addCallback(_ event: TrainingEvent, _ handler: @escaping TrainingCallbacks.Handler) {
        callbacks.add(event, handler)
    }

    /// Forgets the callbacks added for `event`, or all of them.
    public func clearCallbacks(_ event: TrainingEvent? = nil) { callbacks.clear(event) }

    /// Replaces the model by the one in `checkpoint` (after training).
    func reload(_ checkpoint: String) throws {
        let (loaded, trainArgs) = try DetectionModel.loadWithTrainingArguments(contentsOf: checkpoint)
        model = loaded
        checkpointArguments = YOLO.keptArguments(trainArgs)
        path = checkpoint
    }

    /// The training arguments a loaded checkpoint keeps (the reference's `_reset_ckpt_args`).
    static let keptKeys = ["imgsz", "data", "task", "single_cls"]

    static func keptArguments(_ trainArgs: [String: ConfigValue]) -> [String: ConfigValue] {
        trainArgs.filter { keptKeys.contains($0.key) && $0.value != .null }
    }

    /// `config` with the checkpoint's kept arguments in place of the defaults: what the user gave (on the command
    /// line, in a `cfg` YAML, through the Swift API) still wins, as in the reference's
    /// `{**self.overrides, **custom, **kwargs}`.
    func withCheckpointArguments(_ config: Config) throws -> Config {
        var config = config
        for (key, value) in checkpointArguments.sorted(by: { $0.key < $1.key }) where !config.givenKeys.contains(key) {
            try config.set(key, value)
        }
        return try withModelTask(config)
    }

    /// `config` with `task` set to what the model does. A different task given by the user is overruled with the
    /// reference's warning: the head decides.
    func withModelTask(_ config: Config) throws -> Config {
        var config = config
        let given = config.string("task")
        if config.givenKeys.contains("task"), let given, given != model.task.rawValue {
            log("WARNING: conflicting 'task=\(given)' passed with 'task=\(model.task.rawValue)' model. "
                + "Ignoring 'task=\(given)' and updating to 'task=\(model.task.rawValue)' to match model.")
        }
        try config.set("task", .string(model.task.rawValue))
        return config
    }

    /// For val, predict and benchmark (training places its own model): moves the model to the run's `device` (the
    /// reference's `select_device`: the first GPU when there is one), with `half=True` in float16 on CUDA and in
    /// bfloat16 on CPUs that compute in it natively (the reference ignores `half` on the CPU).
    func place(on config: Config) throws {
        let device = try DeviceSelection(config["device"]).device
        let dtype = Self.inferenceType(half: config.bool("half"), device: device)
        if model.device != device || model.dtype != dtype { try model.to(device: device, dtype: dtype) }
    }

    /// The type inference runs in: float32 unless `half`, float16 on CUDA, bfloat16 on a CPU with native bfloat16
    /// (AVX-512 BF16, AMX), float32 on other CPUs, where bfloat16 is emulated and slower.
    public static func inferenceType(half: Bool, device: Device, cpu: CPUInfo = .current) -> DType {
        guard half else { return .float32 }
        if device.isCUDA { return .float16 }
        return device == .cpu && cpu.hasNativeBFloat16 ? .bfloat16 : .float32
    }
}
