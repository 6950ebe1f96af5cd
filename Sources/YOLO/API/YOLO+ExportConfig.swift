import Foundation

extension YOLO {
    /// Exports with the settings in `config` (what `yolo export` runs: `format`, `imgsz`, `batch`, `dynamic`,
    /// `half`, `opset`) and prints the reference's closing line. Returns the file written.
    @discardableResult
    public func export(_ config: Config) throws -> URL {
        try model.task.require("export")
        let config = try withCheckpointArguments(config)
        var format = config.string("format") ?? "onnx"
        if format == "torchscript", config.string("format") == Config()["format"]?.string {
            format = "onnx"  // the reference's default format is TorchScript; ONNX is what this build writes
        }
        let options = ExportOptions(
            // batch 1 unless given, as the reference's export (not the training default, 16)
            imgsz: config.int("imgsz") ?? 640, batch: config.givenKeys.contains("batch") ? config.int("batch") ?? 1 : 1,
            dynamic: config.bool("dynamic"),
            half: config.bool("half"), opset: config.int("opset"))
        let start = Date()
        let url = try export(format: format, options: options)
        log(String(format: "Export complete (%.1fs): %@ (%.1f MB)", Date().timeIntervalSince(start), url.path,
                   Double(YOLO.fileSize(url) ?? 0) / 1e6))
        return url
    }

    static func fileSize(_ url: URL) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
    }
}
