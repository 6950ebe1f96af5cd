import Foundation
import Vision

/// A training split with the reference's augmentation pipeline (`v8_transforms`):
///
///     mosaic (p = mosaic) → copy-paste (polygons) → random perspective → mixup (p = mixup) → HSV → flip up-down →
///     flip left-right
///
/// Every sample is `imgsz` x `imgsz`. Mosaic, mixup and copy-paste stop for the last `closeMosaic` epochs when
/// `epochs` is given (the reference's trainer closes them then).
///
///     let spec = try DatasetSpec(contentsOf: "coco8.yaml")
///     let train = try TrainDataset(spec: spec, imgsz: 640, hyp: AugmentConfig(), batchSize: 16, epochs: 100)
public final class TrainDataset: BatchDataset, @unchecked Sendable {
    public let spec: DatasetSpec
    public let imgsz: Int
    public let hyp: AugmentConfig
    /// Total training epochs, for `close_mosaic`; nil never closes it.
    public let epochs: Int?
    public let log: DataLog
    /// The scan that produced the labels (counts, warnings, cache).
    public var scan: LabelScan { images.scan }
    public var labels: [ImageLabel] { images.labels }
    public var names: [String] { spec.names }
    public var count: Int { images.labels.count }
    public let recentWindow: Int
    public var fixedBatchSize: Int? { nil }

    let images: DatasetImages

    /// - Parameters:
    ///   - split: the YAML key of the images ("train").
    ///   - batchSize: sizes the set of recent images mosaics draw from (8 batches, at most 1000 images).
    ///   - cache: `.ram` decodes every image once up front.
    ///   - singleClass: every object becomes class 0. `classes`: keep only these classes.
    ///   - useLabelCache: read and write the label cache file beside the labels.
    public init(
        spec: DatasetSpec, split: String = "train", imgsz: Int = 640, hyp: AugmentConfig = AugmentConfig(),
        batchSize: Int = 16, epochs: Int? = nil, cache: ImageCaching = .none, singleClass: Bool = false,
        classes: [Int]? = nil, useLabelCache: Bool = true, log: @escaping DataLog = DataLogging.standardError
    ) throws {
        var options = LabelScan.Options()
        options.prefix = "\(split): "
        options.useCache = useLabelCache
        options.singleClass = singleClass
        options.requireLabels = true
        options.log = log
        for warning in spec.warnings { log(warning) }
        // The reference's buffer: min(images, 8 batches, 1000); none with cache=ram (any image is at hand).
        let scan = try LabelScan(imageFiles: try spec.imageFiles(split: split), spec: spec, options: options)
        let window = min(scan.labels.count, batchSize * 8, 1000)
        images = try DatasetImages(
            spec: spec, scan: scan, imgsz: imgsz, caching: cache, recentCapacity: window + batchSize * 3,
            classes: classes, log: log, prefix: options.prefix)
        recentWindow = images.store.caching == .ram ? 0 : window
        self.spec = spec
        self.imgsz = imgsz
        self.hyp = hyp
        self.epochs = epochs
        self.log = log
    }

    public func batchShape(_ batch: Int) -> ImageShape { ImageShape(height: imgsz, width: imgsz) }

    /// Whether mosaic is closed in `epoch` (to tell the user, as the reference's "Closing dataloader mosaic").
    public func mosaicClosed(inEpoch epoch: Int) -> Bool {
        hyp.forEpoch(epoch, of: epochs).mosaic == 0 && hyp.mosaic > 0
    }

    public func sample(_ request: SampleRequest) throws -> LabeledImage {
        var (sample, mirrored) = try batchSample(request)
        if mirrored { sample.image = try sample.image.flipped(horizontal: true) }
        return sample
    }

    /// The sample with its left-right flip applied to the objects but left to the batch writer for the pixels,
    /// which reads the image mirrored at no cost instead of making a flipped copy.
    public func batchSample(_ request: SampleRequest) throws -> (sample: LabeledImage, mirrored: Bool) {
        var rng = request.rng
        let hyp = self.hyp.forEpoch(request.epoch, of: epochs)
        var sample = try preTransform(request.index, hyp: hyp, recent: request.recent, rng: &rng)
        if rng.happens(hyp.mixup) {
            let other = try preTransform(rng.int(in: 0...count - 1), hyp: hyp, recent: request.recent, rng: &rng)
            sample = try MixUp.apply(sample, other, rng: &rng)
        }
        sample.image = try RandomHSV(hgain: hyp.hsvH, sgain: hyp.hsvS, vgain: hyp.hsvV).apply(sample.image, rng: &rng)
        let flipIndex = spec.flipIndex
        sample = try RandomFlip(p: hyp.flipud, direction: .vertical, flipIndex: flipIndex).apply(sample, rng: &rng)
        let mirrored = rng.unit() < hyp.fliplr  // RandomFlip(horizontal)'s draw
        if mirrored { sample.labels.flipHorizontal(width: Float(sample.image.width), flipIndex: flipIndex) }
        return (sample, mirrored)
    }

    /// Mosaic, copy-paste and random perspective (the reference's `pre_transform`, also applied to mixup's image).
    func preTransform(_ index: Int, hyp: AugmentConfig, recent: [Int], rng: inout SampleRNG) throws -> LabeledImage {
        let first = try images.load(index)
        let perspective = RandomPerspective(hyp, imgsz: imgsz)
        guard rng.happens(hyp.mosaic) else { return try perspective.apply(first, rng: &rng) }
        var tiles = [first]
        for _ in 0..<3 {
            let other = recent.isEmpty ? rng.int(in: 0...count - 1) : recent[rng.int(in: 0...recent.count - 1)]
            tiles.append(try images.load(other))
        }
        let mosaic = Mosaic(imgsz: imgsz)
        let placements = mosaic.layout(tiles.map(\.shape), rng: &rng)
        var sample = first
        sample.labels = mosaic.labels(tiles, placements)
        let full = ImageShape(height: mosaic.canvasSize, width: mosaic.canvasSize)
        if hyp.copyPaste > 0 {  // copy-paste works on the whole canvas
            sample.image = try mosaic.canvas(tiles, placements, region: (0, 0, full.width, full.height))
            sample = try CopyPaste(p: hyp.copyPaste).apply(sample)
            return try perspective.apply(sample, rng: &rng)
        }
        // Build only the part of the canvas the warp reads: the same pixels, less to fill and copy.
        let output = ImageShape(height: imgsz, width: imgsz)
        let (m, s) = perspective.matrix(input: full, output: output, rng: &rng)
        let region = perspective.sourceRegion(matrix: m, input: full, output: output) ?? (0, 0, full.width, full.height)
        let canvas = try mosaic.canvas(tiles, placements, region: region)
        sample.image = try perspective.warp(canvas, matrix: m, output: output, origin: (region.x, region.y))
        sample.labels = perspective.transform(sample.labels, matrix: m, scale: Float(s), output: output)
        sample.resizedShape = output
        return sample
    }
}
