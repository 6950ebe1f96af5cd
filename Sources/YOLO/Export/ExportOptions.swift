import Foundation

/// A file format a model exports to.
public enum ExportFormat: String, CaseIterable, Sendable {
    case onnx

    /// The format named `name` (as `format=onnx` on the command line), or an error listing the known ones.
    public init(named name: String) throws {
        guard let format = ExportFormat(rawValue: name.lowercased()) else {
            let known = ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")
            throw ExportError("unknown export format '\(name)' (this build exports: \(known))")
        }
        self = format
    }

    /// The file extension of an exported model.
    public var fileExtension: String { rawValue }
}

/// What an export writes: the reference's `imgsz`, `batch`, `dynamic`, `half` and `opset` arguments.
public struct ExportOptions: Sendable {
    /// The opsets the ONNX writer can target; the newest is the default.
    public static let supportedOpsets = 12...22

    /// Input height and width in pixels, rounded up to a multiple of the model's largest stride (as the reference
    /// does). With `dynamic` it only sets the size recorded in the metadata.
    public var imgsz: (height: Int, width: Int)
    /// Images per batch (a fixed input dimension unless `dynamic`).
    public var batch: Int
    /// Batch, height and width as named, free dimensions (`batch`, `height`, `width`); anchors are then computed
    /// in the graph from the feature maps' shapes.
    public var dynamic: Bool
    /// fp16 weights and activations; input and output stay fp32, as in the reference's CPU export.
    public var half: Bool
    /// ONNX opset; nil for the newest supported.
    public var opset: Int?

    public init(imgsz: Int = 640, batch: Int = 1, dynamic: Bool = false, half: Bool = false, opset: Int? = nil) {
        self.init(imgsz: (imgsz, imgsz), batch: batch, dynamic: dynamic, half: half, opset: opset)
    }

    public init(
        imgsz: (height: Int, width: Int), batch: Int = 1, dynamic: Bool = false, half: Bool = false, opset: Int? = nil
    ) {
        self.imgsz = imgsz
        (self.batch, self.dynamic, self.half, self.opset) = (batch, dynamic, half, opset)
    }

    /// The opset to write, checked against what the writer supports.
    func resolvedOpset() throws -> Int {
        let opset = self.opset ?? Self.supportedOpsets.upperBound
        guard Self.supportedOpsets.contains(opset) else {
            let (low, high) = (Self.supportedOpsets.lowerBound, Self.supportedOpsets.upperBound)
            throw ExportError("ONNX opset \(opset) is not supported (this writer supports \(low)…\(high))")
        }
        return opset
    }

    /// Checks the sizes and returns the image size rounded up to a multiple of `stride`.
    func validatedImageSize(stride: Int) throws -> (height: Int, width: Int) {
        guard imgsz.height > 0, imgsz.width > 0 else {
            throw ExportError("imgsz must be positive, got \(imgsz.height)×\(imgsz.width)")
        }
        guard batch > 0 else { throw ExportError("batch must be positive, got \(batch)") }
        func roundUp(_ n: Int) -> Int { (n + stride - 1) / stride * stride }
        return (roundUp(imgsz.height), roundUp(imgsz.width))
    }
}

/// An export that cannot be written: says what was asked and what is possible.
public struct ExportError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
