/// The checked labels of one image, as the label scan stores them (the reference's label dict).
public struct ImageLabel: Sendable, Equatable {
    public var imageFile: String
    /// The image's size as decoded (EXIF orientation applied).
    public var shape: ImageShape
    /// Class id of each object.
    public var classes: [Int]
    /// Each object's box, normalized to the image: centre x, centre y, width, height.
    public var boxes: [SIMD4<Float>]
    /// Polygon labels, normalized x y points: one per object, or none for box labels.
    public var segments: [[SIMD2<Float>]]
    /// Pose labels: for each object, its keypoints as normalized x, y and visibility.
    public var keypoints: [[SIMD3<Float>]]?

    public init(
        imageFile: String, shape: ImageShape, classes: [Int] = [], boxes: [SIMD4<Float>] = [],
        segments: [[SIMD2<Float>]] = [], keypoints: [[SIMD3<Float>]]? = nil
    ) {
        self.imageFile = imageFile
        self.shape = shape
        self.classes = classes
        self.boxes = boxes
        self.segments = segments
        self.keypoints = keypoints
    }

    public var count: Int { classes.count }
}
