import Vision

/// An image with its objects, as it flows through the transforms (the reference's labels dict).
public struct LabeledImage: Sendable {
    /// BGR, as decoded.
    public var image: Image
    /// Objects in pixels of `image`.
    public var labels: ObjectLabels
    public var imageFile: String
    /// The size of the file's image.
    public var originalShape: ImageShape
    /// The size after loading (long side resized to imgsz) and, for validation, after the letterbox.
    public var resizedShape: ImageShape
    /// How the current pixels map to the original image's.
    public var ratioPad: RatioPad

    public init(image: Image, labels: ObjectLabels, imageFile: String = "", originalShape: ImageShape? = nil) {
        self.image = image
        self.labels = labels
        self.imageFile = imageFile
        let shape = ImageShape(height: image.height, width: image.width)
        self.originalShape = originalShape ?? shape
        self.resizedShape = shape
        self.ratioPad = RatioPad(
            ratioHeight: Double(shape.height) / Double(self.originalShape.height),
            ratioWidth: Double(shape.width) / Double(self.originalShape.width))
    }

    public var shape: ImageShape { ImageShape(height: image.height, width: image.width) }
}
