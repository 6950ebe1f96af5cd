import Foundation
import Vision

/// A dataset the `DataLoader` draws batches from: `TrainDataset` (augmented) or `ValDataset` (letterboxed).
public protocol BatchDataset: AnyObject, Sendable {
    /// Images in the dataset.
    var count: Int { get }
    /// Class names by id.
    var names: [String] { get }
    /// The checked labels, one per image, in dataset order.
    var labels: [ImageLabel] { get }
    /// Where warnings go.
    var log: DataLog { get }
    /// For training: mosaics draw their other images from the last `recentWindow` images of the sampling order
    /// (the reference's buffer of recently loaded images), 0 to draw from the whole dataset.
    var recentWindow: Int { get }
    /// The batch size the dataset was built for, when it fixes its batches (rectangular validation), else nil.
    var fixedBatchSize: Int? { get }
    /// The image size (height, width) of every sample of batch `batch`.
    func batchShape(_ batch: Int) -> ImageShape
    /// One finished sample: its image at `batchShape` and its objects in its pixels.
    func sample(_ request: SampleRequest) throws -> LabeledImage
    /// The sample as the loader takes it: `mirrored` asks the batch writer to mirror the pixels left-right (the
    /// objects are already mirrored), which saves a copy of the image.
    func batchSample(_ request: SampleRequest) throws -> (sample: LabeledImage, mirrored: Bool)
}

extension BatchDataset {
    public func batchSample(_ request: SampleRequest) throws -> (sample: LabeledImage, mirrored: Bool) {
        (try sample(request), false)
    }
}

/// What a sample depends on. Its random numbers come from (seed, epoch, position) only, so a batch is the same
/// whatever thread made it.
public struct SampleRequest: Sendable {
    /// The image's index in the dataset.
    public var index: Int
    public var epoch: Int
    /// Position in the epoch's order; the batch is position / batch size.
    public var position: Int
    public var batch: Int
    /// Images recently drawn before this one (this one included), for mosaics; empty for the whole dataset.
    public var recent: [Int]
    public var rng: SampleRNG

    public init(index: Int, epoch: Int = 0, position: Int = 0, batch: Int = 0, recent: [Int] = [], seed: UInt64 = 0) {
        self.index = index
        self.epoch = epoch
        self.position = position
        self.batch = batch
        self.recent = recent
        self.rng = SampleRNG(seed, UInt64(epoch), UInt64(position))
    }
}

/// What training and validation datasets share: the checked labels of a split and its images.
final class DatasetImages: @unchecked Sendable {
    let spec: DatasetSpec
    let labels: [ImageLabel]
    let scan: LabelScan
    let store: ImageStore
    let imgsz: Int

    /// `labels` (default: the scan's, in its order), minus the classes not in `classes` when given.
    init(
        spec: DatasetSpec, scan: LabelScan, labels: [ImageLabel]? = nil, imgsz: Int, caching: ImageCaching,
        recentCapacity: Int, classes: [Int]?, log: DataLog, prefix: String
    ) throws {
        guard imgsz > 0 else { throw DataError("imgsz must be positive, got \(imgsz)") }
        var labels = labels ?? scan.labels
        if let classes {  // keep only these classes (the reference's `classes` argument)
            let wanted = Set(classes)
            for i in labels.indices {
                let keep = labels[i].classes.map { wanted.contains($0) }
                func kept<T>(_ values: [T]) -> [T] { zip(values, keep).compactMap { $1 ? $0 : nil } }
                labels[i].classes = kept(labels[i].classes)
                labels[i].boxes = kept(labels[i].boxes)
                if !labels[i].segments.isEmpty { labels[i].segments = kept(labels[i].segments) }
                labels[i].keypoints = labels[i].keypoints.map(kept)
            }
        }
        self.spec = spec
        self.scan = scan
        self.labels = labels
        self.imgsz = imgsz
        store = ImageStore(
            files: labels.map(\.imageFile), imgsz: imgsz, caching: caching, recentCapacity: recentCapacity, log: log,
            prefix: prefix)
    }

    /// Image `index` (long side imgsz) with its objects in its pixels; polygons resampled to 1000 points (more
    /// when a polygon has more), as the reference resamples them for every sample.
    func load(_ index: Int) throws -> LabeledImage {
        let loaded = try store.load(index)
        var label = labels[index]
        if !label.segments.isEmpty {
            let longest = label.segments.map(\.count).max() ?? 0
            let n = longest > 1000 ? longest + 1 : 1000
            label.segments = label.segments.map { SegmentGeometry.resample($0, to: n) }
        }
        let shape = ImageShape(height: loaded.image.height, width: loaded.image.width)
        return LabeledImage(
            image: loaded.image, labels: ObjectLabels(label, shape: shape), imageFile: label.imageFile,
            originalShape: loaded.original)
    }
}
