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
/// With `rect` (the reference's `rect=True` training), images are sorted by aspect ratio, each batch gets the
/// smallest stride-multiple shape that fits its images (no padding), mosaic and mixup are off, and the random
/// perspective warps into the batch's shape; the loader then keeps the order (no shuffle).
///
///     let spec = try DatasetSpec(contentsOf: "coco8.yaml")
///     let train = try TrainDataset(spec: spec, imgsz: 640, hyp: AugmentConfig(), batchSize: 16, epochs: 100)
public final class TrainDataset: BatchDataset, @unchecked Sendable {
    public let spec: DatasetSpec
    public let imgsz: Int
    public let hyp: AugmentConfig
    /// Total training epochs, for `close_mosaic`; nil never closes it. Training with `time=` re-estimates it
    /// between epochs.
    public var epochs: Int? {
        get { epochsLock.withLock { _epochs } }
        set { epochsLock.withLock { _epochs = newValue } }
    }
    private var _epochs: Int?
    private let epochsLock = NSLock()
    public let rect: Bool
    /// Each batch's (height, width) with `rect`.
    public let batchShapes: [ImageShape]
    public let batchSize: Int
    public let log: DataLog
    /// The scan that produced the labels (counts, warnings, cache).
    public var scan: LabelScan { images.scan }
    public var labels: [ImageLabel] { images.labels }
    public var names: [String] { spec.names }
    public var count: Int { images.labels.count }
    public let recentWindow: Int
    /// Rectangular batches of different shapes fix the batches (and forbid shuffling); equal ones do not.
    public var fixedBatchSize: Int? { rect && Set(batchShapes).count > 1 ? batchSize : nil }

    let images: DatasetImages

    /// - Parameters:
    ///   - split: the YAML key of the images ("train").
    ///   - batchSize: sizes the set of recent images mosaics draw from (8 batches, at most 1000 images).
    ///   - cache: `.ram` decodes every image once up front.
    ///   - singleClass: every object becomes class 0. `classes`: keep only these classes.
    ///   - useLabelCache: read and write the label cache file beside the labels.
    ///   - fraction: train on the first images only (in sorted order).
    ///   - rect: rectangular batches for `stride` (see above).
    ///   - keypoints: read the label rows' keypoints (pose; `kpt_shape` and, for flips, `flip_idx` from the YAML).
    public init(
        spec: DatasetSpec, split: String = "train", imgsz: Int = 640, hyp: AugmentConfig = AugmentConfig(),
        batchSize: Int = 16, epochs: Int? = nil, cache: ImageCaching = .none, singleClass: Bool = false,
        classes: [Int]? = nil, useLabelCache: Bool = true, fraction: ImageFraction = .all, rect: Bool = false,
        stride: Int = 32, keypoints: Bool = false, log: @escaping DataLog = DataLogging.standardError
    ) throws {
        guard batchSize > 0 else { throw DataError("batch size must be positive, got \(batchSize)") }
        var options = LabelScan.Options()
        options.prefix = "\(split): "
        options.useCache = useLabelCache
        options.singleClass = singleClass
        options.readsKeypoints = keypoints  // pose: the label rows' keypoints, else only their boxes
        options.requireLabels = true
        options.log = log
        for warning in spec.warnings { log(warning) }
        // The reference's buffer: min(images, 8 batches, 1000); none with cache=ram (any image is at hand).
        let files = try spec.imageFiles(split: split)
        let scan = try LabelScan(
            imageFiles: Array(files.prefix(fraction.count(of: files.count))), spec: spec, options: options)
        var labels = scan.labels
        if rect {  // sorted by aspect ratio (stable), so that each batch holds similar shapes
            labels = labels.enumerated().sorted {
                let (a, b) = (ValDataset.aspect($0.element.shape), ValDataset.aspect($1.element.shape))
                return a < b || (a == b && $0.offset < $1.offset)
            }.map(\.element)
        }
        let window = min(labels.count, batchSize * 8, 1000)
        images = try DatasetImages(
            spec: spec, scan: scan, labels: labels, imgsz: imgsz, caching: cache,
            recentCapacity: window + batchSize * 3, classes: classes, log: log, prefix: options.prefix)
        recentWindow = images.store.caching == .ram ? 0 : window
        self.spec = spec
        self.imgsz = imgsz
        var hyp = hyp
        if rect { (hyp.mosaic, hyp.mixup) = (0, 0) }  // as the reference's build_transforms: rect excludes them
        if keypoints, spec.flipIndex?.isEmpty ?? true, hyp.fliplr > 0 || hyp.flipud > 0 {
            (hyp.fliplr, hyp.flipud) = (0, 0)  // a flip without flip_idx would swap left and right keypoints' meaning
            log("WARNING: No 'flip_idx' array defined in data.yaml, disabling 'fliplr' and 'flipud' augmentations.")
        }
        self.hyp = hyp
        _epochs = epochs
        self.rect = rect
        self.batchSize = batchSize
        batchShapes =
            rect
            ? ValDataset.rectangles(labels.map(\.shape), batchSize: batchSize, imgsz: imgsz, stride: stride, pad: 0)
            : []
        self.log = log
    }

    public func batchShape(_ batch: Int) -> ImageShape {
        rect ? batchShapes[batch] : ImageShape(height: imgsz, width: imgsz)
    }

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
        var perspective = RandomPerspective(hyp, imgsz: imgsz)
        if rect { perspective.size = batchShapes[index / batchSize] }  // the image's batch, as the reference's rect_shape
        guard rng.happens(hyp.mosaic) else {
            // Copy-paste comes before the warp whether or not there is a mosaic (the reference's pre_transform).
            let pasted = hyp.copyPaste > 0 ? try CopyPaste(p: hyp.copyPaste).apply(first) : first
            return try perspective.apply(pasted, rng: &rng)
        }
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
