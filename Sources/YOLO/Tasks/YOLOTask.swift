/// What a model does, as the reference's `task`: decided once (the CLI's TASK word, the model YAML's head, or the
/// checkpoint) and carried with the run (config, checkpoint `train_args.task`, `runs/<task>/`, ONNX metadata).
public enum YOLOTask: String, CaseIterable, Sendable {
    case detect, segment, pose, classify, obb

    /// The task a model's head module performs (the reference's `guess_model_task` on a YAML's last row).
    public init?(headModule: String) {
        switch headModule.lowercased() {
        case "detect", "yoloedetect", "worlddetect", "v10detect", "rtdetrdecoder": self = .detect
        case "segment", "yoloesegment": self = .segment
        case "pose": self = .pose
        case "classify": self = .classify
        case "obb": self = .obb
        default: return nil
        }
    }

    /// Tasks this build trains, validates, predicts and exports.
    public static let supported: [YOLOTask] = [.detect, .segment, .pose]
    public var isSupported: Bool { Self.supported.contains(self) }
}

extension YOLOTask {
    /// The modes this build runs for the task.
    public var builtModes: [String] {
        switch self {
        case .detect: return ["train", "val", "predict", "export", "benchmark"]
        case .segment: return ["train", "val", "predict", "export", "benchmark"]
        case .pose: return ["train", "val", "predict", "export", "benchmark"]
        default: return []
        }
    }

    /// Throws a clear error when `mode` is not built for this task (rather than running it as detection).
    func require(_ mode: String) throws {
        guard builtModes.contains(mode) else {
            let built = builtModes.isEmpty ? "nothing yet" : builtModes.joined(separator: ", ")
            throw ConfigError("'\(mode)' of a \(rawValue) model is not built yet (\(rawValue): \(built))")
        }
    }
}
