import Foundation
import Vision

/// A validation split as the reference evaluates it: each image resized (long side imgsz) and letterboxed without
/// enlarging. With `rect` (the reference's default for validation), images are sorted by aspect ratio and each batch
/// gets the smallest shape that fits its images, rounded up to the stride (`set_rectangle`), so less grey is
/// computed; without it every image is imgsz x imgsz.
///
///     let val = try ValDataset(spec: spec, imgsz: 640, batchSize: 32)
///     let loader = try DataLoader(dataset: val, batchSize: 32, workers: 2, shuffle: false)
public final class ValDataset: BatchDataset, @unchecked Sendable {
    public let spec: DatasetSpec
    public let imgsz: Int
    public let rect: Bool
    public let stride: Int
    public let log: DataLog
    public var scan: LabelScan { images.scan }
    public var labels: [ImageLabel] { images.labels }
    public var names: [String] { spec.names }
    public var count: Int { images.labels.count }
    public var recentWindow: Int { 0 }
    public var fixedBatchSize: Int? { rect ? batchSize : nil }
    /// Images per batch the rectangles were computed for.
    public let batchSize: Int
    /// Each batch's (height, width) with `rect`.
    public let batchShapes: [ImageShape]

    let images: DatasetImages

    /// - Parameters:
    ///   - pad: extra stride fraction around each rectangle (the reference uses 0.5 for validation).
    public init(
        spec: DatasetSpec, split: String = "val", imgsz: Int = 640, batchSize: Int = 16, rect: Bool = true,
        stride: Int = 32, pad: Double = 0.5, cache: ImageCaching = .none, singleClass: Bool = false,
        classes: [Int]? = nil, useLabelCache: Bool = true, keypoints: Bool = false, log: @escaping DataLog = DataLogging.standardError
    ) throws {
        guard batchSize > 0 else { throw DataError("batch size must be positive, got \(batchSize)") }
        var options = LabelScan.Options()
        options.prefix = "\(split): "
        options.useCache = useLabelCache
        options.singleClass = singleClass
        options.readsKeypoints = keypoints  // pose: the label rows' keypoints, else only their boxes
        options.requireLabels = false
        options.log = log
        for warning in spec.warnings { log(warning) }
        let scan = try LabelScan(imageFiles: try spec.imageFiles(split: split), spec: spec, options: options)
        var labels = scan.labels
        if rect {  // sorted by aspect ratio (stable), so that each batch holds similar shapes
            labels = labels.enumerated().sorted {
                let (a, b) = (ValDataset.aspect($0.element.shape), ValDataset.aspect($1.element.shape))
                return a < b || (a == b && $0.offset < $1.offset)
            }.map(\.element)
        }
        images = try DatasetImages(
            spec: spec, scan: scan, labels: labels, imgsz: imgsz, caching: cache, recentCapacity: 0, classes: classes,
            log: log, prefix: options.prefix)
        self.spec = spec
        self.imgsz = imgsz
        self.rect = rect
        self.stride = stride
        self.batchSize = batchSize
        self.log = log
        batchShapes =
            rect
            ? ValDataset.rectangles(
                images.labels.map(\.shape), batchSize: batchSize, imgsz: imgsz, stride: stride, pad: pad) : []
    }

    static func aspect(_ shape: ImageShape) -> Double { Double(shape.height) / Double(shape.width) }

    /// The reference's `set_rectangle` for images already sorted by aspect ratio.
    static func rectangles(_ shapes: [ImageShape], batchSize: Int, imgsz: Int, stride: Int, pad: Double) -> [ImageShape]
    {
        let batches = (shapes.count + batchSize - 1) / batchSize
        return (0..<batches).map { b in
            let ratios = shapes[(b * batchSize)..<min(shapes.count, (b + 1) * batchSize)].map(aspect)
            var (h, w) = (1.0, 1.0)
            if let high = ratios.max(), high < 1 {
                h = high
            } else if let low = ratios.min(), low > 1 {
                w = 1 / low
            }
            func side(_ f: Double) -> Int { Int((f * Double(imgsz) / Double(stride) + pad).rounded(.up)) * stride }
            return ImageShape(height: side(h), width: side(w))
        }
    }

    public func batchShape(_ batch: Int) -> ImageShape {
        rect ? batchShapes[batch] : ImageShape(height: imgsz, width: imgsz)
    }

    public func sample(_ request: SampleRequest) throws -> LabeledImage {
        let sample = try images.load(request.index)
        let target = rect ? batchShapes[request.index / batchSize] : batchShape(0)
        return try Letterbox(shape: target, scaleUp: false).apply(sample, target: target)
    }
}
