import Foundation

// The metadata the reference writes into its exports, with its keys and value formats: programs that consume the
// reference's files (its own AutoBackend among them) read `stride`, `batch` and `channels` as integers and
// `imgsz`, `names`, `args` and `end2end` as Python literals.
extension DetectionModel {
    func onnxMetadata(
        options: ExportOptions, opset: Int, size: (height: Int, width: Int), stride: Int
    ) -> [(String, String)] {
        // `YOLOv8n`, from the YAML's name as the reference's checkpoints record it.
        let yaml = spec.tree["yaml_file"]?.string.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        let pretty = (yaml ?? "yolov8\(spec.scale ?? "")").replacingOccurrences(of: "yolo", with: "YOLO")
        let names = (0..<classCount).map { "\($0): \(pythonLiteral(self.names[$0] ?? "class\($0)"))" }
        let args = [
            ("batch", "\(options.batch)"), ("dynamic", pythonLiteral(options.dynamic)),
            ("half", pythonLiteral(options.half)), ("nms", "False"), ("opset", "\(opset)"),
        ]
        var entries: [(String, String)] = [
            ("description", "swift-yolo \(pretty) model"),
            ("author", "swift-yolo"),
            ("date", ISO8601DateFormatter().string(from: Date())),
            ("stride", "\(stride)"),
            ("task", task.rawValue),
            ("head", "\(type(of: detect))"),
            ("batch", "\(options.batch)"),
            ("imgsz", "[\(size.height), \(size.width)]"),
            ("names", "{" + names.joined(separator: ", ") + "}"),
            ("args", "{" + args.map { "\(pythonLiteral($0.0)): \($0.1)" }.joined(separator: ", ") + "}"),
            ("channels", "3"),
            ("end2end", "False"),
        ]
        if let pose = detect as? Pose {  // as the reference's pose exports
            entries.append(("kpt_shape", "[\(pose.keypointShape.count), \(pose.keypointShape.dims)]"))
        }
        return entries
    }
}

/// `True` / `False`, as Python writes a bool.
private func pythonLiteral(_ value: Bool) -> String { value ? "True" : "False" }

/// A string as Python's `repr` writes it: single quotes unless the text holds one and no double quote.
private func pythonLiteral(_ text: String) -> String {
    let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
    var escaped = ""
    for c in text {
        switch c {
        case "\\": escaped += "\\\\"
        case "\n": escaped += "\\n"
        case "\r": escaped += "\\r"
        case "\t": escaped += "\\t"
        case quote: escaped += "\\\(quote)"
        default: escaped.append(c)
        }
    }
    return "\(quote)\(escaped)\(quote)"
}
