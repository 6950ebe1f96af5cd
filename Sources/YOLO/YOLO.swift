import Foundation
import Torch

/// The entry point, as the reference's `YOLO(...)`: a model from a YAML or a checkpoint.
///
///     let model = try YOLO("yolov8n.pt")            // the reference's checkpoint, or ours
///     let fresh = try YOLO("yolov8s.yaml", nc: 3)   // a new model for 3 classes
///     print(try model.info())
///     let predictions = try model(tensor)           // (batch, 4 + nc, anchors)
public final class YOLO {
    public let model: DetectionModel

    /// Loads `path`: a model YAML (built-in names such as `yolov8n.yaml` work anywhere) or a `.pt` checkpoint.
    public init(_ path: String, nc: Int? = nil) throws {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        if ext == "yaml" || ext == "yml" {
            model = try DetectionModel(spec: ModelSpec(contentsOf: path, nc: nc))
        } else {
            let loaded = try DetectionModel.load(contentsOf: path)
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
}
