import Foundation

extension YOLO {
    /// Exports the model as the reference's `model.export(format=...)` does and returns the file written:
    /// `<weights stem>.<format>` beside the checkpoint it was loaded from (for a model built from a YAML, in the
    /// current directory), or at `url` when one is given.
    ///
    /// `imgsz` defaults to the checkpoint's training size (640 for a model built from a YAML), as the reference's.
    ///
    ///     let file = try YOLO("runs/detect/train/weights/best.pt").export(format: .onnx)   // …/weights/best.onnx
    @discardableResult
    public func export(
        format: ExportFormat = .onnx, imgsz: Int? = nil, batch: Int = 1, dynamic: Bool = false, half: Bool = false,
        opset: Int? = nil, to url: URL? = nil
    ) throws -> URL {
        let size = imgsz ?? checkpointArguments["imgsz"]?.int ?? 640
        let options = ExportOptions(imgsz: size, batch: batch, dynamic: dynamic, half: half, opset: opset)
        return try export(format: format, options: options, to: url)
    }

    /// `export` with a format named by a string (`format=onnx` on the command line): unknown names are an error.
    @discardableResult
    public func export(format: String, options: ExportOptions = ExportOptions(), to url: URL? = nil) throws -> URL {
        try export(format: try ExportFormat(named: format), options: options, to: url)
    }

    /// `export` with every option in one value (an `imgsz` of height × width among them).
    @discardableResult
    public func export(format: ExportFormat, options: ExportOptions, to url: URL? = nil) throws -> URL {
        let destination = url ?? defaultExportURL(format)
        switch format {
        case .onnx: try model.exportONNX(to: destination, options: options)
        }
        return destination
    }

    /// `<stem>.<format>` beside the checkpoint the model came from, or in the current directory for a YAML.
    private func defaultExportURL(_ format: ExportFormat) -> URL {
        let source = URL(fileURLWithPath: model.spec.source)
        let ext = source.pathExtension.lowercased()
        let folder = ext == "yaml" || ext == "yml"
            ? URL(fileURLWithPath: FileManager.default.currentDirectoryPath) : source.deletingLastPathComponent()
        var stem = source.deletingPathExtension().lastPathComponent
        if folder != source.deletingLastPathComponent(), let scale = model.spec.scale, stem.last?.isNumber == true {
            stem += scale  // yolov8.yaml at scale n → yolov8n, as the reference names it
        }
        return folder.appendingPathComponent(stem).appendingPathExtension(format.fileExtension)
    }
}
