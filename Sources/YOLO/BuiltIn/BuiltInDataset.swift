import Foundation

/// The dataset `yolo train` uses when given none, so training works offline on a fresh machine: images of coloured
/// shapes (circle, square, triangle, star, cross, ellipse) of varied size, rotation, colour and overlap on textured
/// backgrounds, in the YOLO layout, generated from a seed into a cache folder on first use.
///
///     let yaml = try BuiltInDataset.shapes()              // ~/.cache/swift-yolo/datasets/shapes-v1/data.yaml
///     if BuiltInDataset.isBuiltIn(config.data) { data = try BuiltInDataset.shapes().path }
///
/// The same seed and sizes give the same files, byte for byte, on every machine with the same OpenCV.
public enum BuiltInDataset {
    /// The labels a task trains on: the same images, labelled for it.
    public static func labels(for task: String?) -> ShapeLabels {
        switch task {
        case YOLOTask.segment.rawValue: .polygons
        case YOLOTask.pose.rawValue: .keypoints
        default: .boxes
        }
    }

    /// The name that selects it: `data=shapes` (or `shapes.yaml`).
    public static let name = "shapes"

    /// Bumped whenever a change to the generator changes its output, so caches of an older version are remade.
    public static let generatorVersion = 1

    /// Class names, by class index.
    public static var classNames: [String] { ShapeKind.allCases.map(\.name) }

    /// Whether a `data` argument means the built-in dataset: empty, `shapes` or `shapes.yaml`.
    public static func isBuiltIn(_ data: String?) -> Bool {
        guard let data, !data.isEmpty else { return true }
        return data == name || data == name + ".yaml"
    }

    /// Where datasets are cached: `$XDG_CACHE_HOME/swift-yolo/datasets`, else `~/.cache/swift-yolo/datasets`.
    public static func defaultRoot() -> URL {
        let environment = ProcessInfo.processInfo.environment
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return cache.appendingPathComponent("swift-yolo").appendingPathComponent("datasets")
    }

    /// The dataset's `data.yaml`, generating the dataset first unless a complete copy is already cached.
    ///
    /// - Parameters:
    ///   - trainImages, valImages: images per split (the defaults teach yolov8n at imgsz 320 in minutes on a CPU).
    ///   - imageSize: side of the square images, in pixels.
    ///   - root: the cache folder (default `defaultRoot()`); the dataset is a folder inside it named after the
    ///     version and, when they differ from the defaults, the seed and sizes.
    ///   - format: image file type, "jpg" or "png" (lossless, for tests that compare pixels).
    ///   - labels: each shape's box (detection), its outline (`class x1 y1 x2 y2 ...`, segmentation) or its box and
    ///     4 keypoints, its leftmost, topmost, rightmost and bottommost points (pose, `kpt_shape: [4, 3]`); the same
    ///     images, in their own folders (`shapes-v1-seg`, `shapes-v1-pose`).
    ///   - progress: show a progress line while generating.
    @discardableResult
    public static func shapes(
        seed: UInt64 = 0, trainImages: Int = 256, valImages: Int = 64, imageSize: Int = 320, root: URL? = nil,
        format: String = "jpg", labels: ShapeLabels = .boxes, progress: Bool = true
    ) throws -> URL {
        let spec = ShapesSpec(
            seed: seed, trainImages: trainImages, valImages: valImages, imageSize: imageSize, format: format,
            labels: labels)
        try spec.validate()
        return try DatasetCache.materialize(spec: spec, root: root ?? defaultRoot(), progress: progress)
    }
}

/// Everything that decides the dataset's files.
struct ShapesSpec: Equatable, Sendable {
    var seed: UInt64
    var trainImages: Int
    var valImages: Int
    var imageSize: Int
    var format: String
    /// What each shape is labelled with.
    var labels = ShapeLabels.boxes

    static let defaults = ShapesSpec(seed: 0, trainImages: 256, valImages: 64, imageSize: 320, format: "jpg")

    /// `shapes-v1` for the defaults (`shapes-v1-seg` with outlines, `shapes-v1-pose` with keypoints); otherwise
    /// the differences are spelled out, so specs never share a folder.
    var folderName: String {
        var name = "\(BuiltInDataset.name)-v\(BuiltInDataset.generatorVersion)"
        var boxes = self
        boxes.labels = .boxes
        if boxes != ShapesSpec.defaults {
            name += "-seed\(seed)-\(trainImages)+\(valImages)-\(imageSize)px-\(format)"
        }
        return name + labels.suffix
    }

    /// The content of the completeness marker: a cached folder is used only when its marker says exactly this.
    var marker: String {
        """
        generator: \(BuiltInDataset.generatorVersion)
        seed: \(seed)
        train: \(trainImages)
        val: \(valImages)
        imgsz: \(imageSize)
        format: \(format)
        labels: \(labels.rawValue)

        """
    }

    func validate() throws {
        guard trainImages >= 1, valImages >= 1 else {
            throw DatasetGenerationError("the shapes dataset needs at least 1 train and 1 val image, "
                + "got \(trainImages) and \(valImages)")
        }
        guard imageSize >= 32 else {
            throw DatasetGenerationError("the shapes dataset needs images of at least 32 px, got \(imageSize)")
        }
        guard format == "jpg" || format == "png" else {
            throw DatasetGenerationError("the shapes dataset writes jpg or png images, not '\(format)'")
        }
    }
}

/// A failure making the built-in dataset (for example an unwritable cache folder).
public struct DatasetGenerationError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What the built-in dataset labels each shape with.
public enum ShapeLabels: String, Sendable {
    case boxes, polygons, keypoints

    var suffix: String {
        switch self {
        case .boxes: ""
        case .polygons: "-seg"
        case .keypoints: "-pose"
        }
    }
}
