import Foundation
import Torch
import Vision

/// A batch as the model and the loss take it.
///
/// `images` are uint8 RGB, (B, 3, H, W), as the reference's loader gives them: a quarter of the bytes of float32 to
/// assemble and to move to a GPU; `normalizedImages(device:)` makes the float32 [0, 1] input there (the reference's
/// trainer does `batch["img"].float() / 255` after moving the batch). Measured, float32 made by the workers is
/// slower even for CPU training: a batch of 79 MB is beyond what glibc serves from a worker thread's heap, so every
/// batch is mmapped and faulted in afresh.
public struct Batch: @unchecked Sendable {
    /// The batch's position in its epoch, and the epoch.
    public let index: Int
    public let epoch: Int
    /// (B, 3, H, W) uint8, RGB.
    public let images: Tensor
    /// (N, 6) float32, one row per object: image index in the batch, class, centre x, centre y, width, height,
    /// the box normalized to the image (H, W).
    public let targets: Tensor
    /// The same rows as `targets`, flattened, for code that wants numbers rather than a tensor.
    public let targetValues: [Float]
    public let paths: [String]
    /// Each image's size in its file.
    public let originalShapes: [ImageShape]
    /// Each image's size after loading (long side imgsz) and letterbox (validation).
    public let resizedShapes: [ImageShape]
    /// How each image's pixels map to its file's (validation maps predictions back with it).
    public let ratioPads: [RatioPad]
    /// Segmentation: (B, h, w) index maps (0 background, k the image's k-th row of `targets`) with overlapping
    /// masks, else (N, h, w) 0/1, one per row of `targets`; int32, at the image size / `mask_ratio`. Nil otherwise.
    public var masks: Tensor? = nil
    /// Pose: (N, K, 3) keypoints of the rows of `targets`: x, y normalized to the image, visibility (0 for a point
    /// outside the image or unlabelled). Nil otherwise.
    public var keypoints: Tensor? = nil

    public var count: Int { paths.count }
    /// (height, width) of the images.
    public var shape: ImageShape { ImageShape(height: images.size(2), width: images.size(3)) }

    /// The images as float32 in [0, 1] on `device`: moved as uint8 first, then converted there.
    public func normalizedImages(device: Device = .cpu) throws -> Tensor {
        let moved = device == .cpu ? images : try images.to(device)
        // Converted, then divided in place: measured faster than the promoting `uint8 / 255` in one call.
        let converted = try moved.to(.float32)
        try converted.div_(255)
        return converted
    }
}

/// One batch being filled by the workers: pixels written straight into their slots (CHW, RGB), then one tensor.
final class BatchAssembly: @unchecked Sendable {
    let index: Int
    let epoch: Int
    let count: Int
    let shape: ImageShape
    /// Segmentation: how each sample's polygons become masks (nil for other tasks).
    let masks: MaskFormat?
    /// CHW RGB samples one after the other.
    private let pixels: UnsafeMutableBufferPointer<UInt8>
    private var samples: [SampleRecord?]
    /// Samples still to come (changed under the loader's lock).
    var remaining: Int

    struct SampleRecord {
        var path: String
        var original: ImageShape
        var resized: ImageShape
        var ratioPad: RatioPad
        /// class, cx, cy, w, h per object.
        var rows: [Float]
        var masks: SampleMasks?
        /// K × (x, y, visibility) per object, normalized, in the order of `rows` (pose datasets).
        var keypoints: [Float]?
        var keypointCount = 0
    }

    init(index: Int, epoch: Int, count: Int, shape: ImageShape, masks: MaskFormat? = nil) {
        self.masks = masks
        self.index = index
        self.epoch = epoch
        self.count = count
        self.shape = shape
        pixels = .allocate(capacity: count * 3 * shape.height * shape.width)
        samples = Array(repeating: nil, count: count)
        remaining = count
        BatchAssembly.counter.withLock { $0 += 1 }
    }

    deinit {
        pixels.deallocate()
        BatchAssembly.counter.withLock { $0 -= 1 }
    }

    /// Batch buffers alive in the process (to check that memory stays bounded).
    static var live: Int { counter.withLock { $0 } }
    private static let counter = LockedCounter()

    /// Writes sample `slot`: its pixels as CHW RGB (read right to left when `mirrored`), its objects as normalized
    /// rows. Each slot is written by one thread, so no lock is needed.
    func write(_ sample: LabeledImage, slot: Int, mirrored: Bool = false) throws {
        let image = sample.image
        guard image.width == shape.width, image.height == shape.height, image.channels == 3 else {
            throw DataError(
                "\(sample.imageFile): a sample came out \(image) but its batch is \(shape.width)x\(shape.height)x3")
        }
        let (width, plane) = (shape.width, shape.height * shape.width)
        let base = pixels.baseAddress! + slot * 3 * plane
        image.withUnsafeBytes { raw in
            BatchAssembly.planes(
                raw.bindMemory(to: UInt8.self).baseAddress!, width: width, plane: plane, mirrored: mirrored, into: base)
        }
        let (w, h) = (Float(shape.width), Float(shape.height))
        var sampleMasks: SampleMasks?
        if let masks {
            let labels = sample.labels
            guard labels.segments.count == labels.count else {
                throw DataError("\(sample.imageFile): \(labels.count) objects but \(labels.segments.count) polygons; "
                    + "segmentation needs a polygon per object (label rows 'class x1 y1 x2 y2 ...')")
            }
            sampleMasks = try MaskRasterizer.masks(labels.segments, height: shape.height, width: shape.width, format: masks)
        }
        var rows: [Float] = []
        rows.reserveCapacity(sample.labels.count * 5)
        var keypoints: [Float]? = sample.labels.keypoints.map { _ in [] }
        for i in sampleMasks?.order ?? Array(0..<sample.labels.count) {  // overlap masks reorder the objects by area
            let (cls, box) = (sample.labels.classes[i], sample.labels.boxes[i])
            rows += [Float(cls), (box.x1 + box.x2) / 2 / w, (box.y1 + box.y2) / 2 / h, box.width / w, box.height / h]
            if let points = sample.labels.keypoints?[i] { keypoints! += points.flatMap { [$0.x / w, $0.y / h, $0.z] } }
        }
        samples[slot] = SampleRecord(
            path: sample.imageFile, original: sample.originalShape, resized: sample.resizedShape,
            ratioPad: sample.ratioPad, rows: rows, masks: sampleMasks, keypoints: keypoints,
            keypointCount: sample.labels.keypoints?.first?.count ?? 0)
    }

    /// BGR interleaved -> R, G, B planes, columns right to left when `mirrored`. Wrapping arithmetic: no overflow
    /// checks in the inner loop.
    static func planes(
        _ bgr: UnsafePointer<UInt8>, width: Int, plane: Int, mirrored: Bool, into base: UnsafeMutablePointer<UInt8>
    ) {
        let (r, g, b) = (base, base + plane, base + 2 &* plane)
        var row = 0
        while row < plane {
            var x = 0
            while x < width {
                let p = 3 &* (row &+ (mirrored ? width &- 1 &- x : x))
                r[row &+ x] = bgr[p &+ 2]
                g[row &+ x] = bgr[p &+ 1]
                b[row &+ x] = bgr[p]
                x &+= 1
            }
            row &+= width
        }
    }

    func collate() throws -> Batch {
        let records = samples.map { $0! }
        var values: [Float] = []
        for (i, record) in records.enumerated() {
            for start in stride(from: 0, to: record.rows.count, by: 5) {
                values.append(Float(i))
                values += record.rows[start..<start + 5]
            }
        }
        let images = try Tensor(
            buffer: UnsafeRawBufferPointer(pixels), shape: [count, 3, shape.height, shape.width], dtype: .uint8)
        var batch = Batch(
            index: index, epoch: epoch, images: images, targets: try Tensor(values, shape: [values.count / 6, 6]),
            targetValues: values, paths: records.map(\.path), originalShapes: records.map(\.original),
            resizedShapes: records.map(\.resized), ratioPads: records.map(\.ratioPad))
        if records.allSatisfy({ $0.keypoints != nil }), let k = records.map(\.keypointCount).max(), k > 0 {
            let all = records.flatMap { $0.keypoints! }
            batch.keypoints = try Tensor(all, shape: [all.count / (3 * k), k, 3])
        }
        if let masks {
            let (h, w) = (shape.height / masks.ratio, shape.width / masks.ratio)
            let planes = records.map { $0.masks?.planes ?? (masks.overlap ? 1 : 0) }.reduce(0, +)
            var all: [Int32] = []
            all.reserveCapacity(planes * h * w)
            for record in records { all += record.masks?.values ?? [Int32](repeating: 0, count: (masks.overlap ? 1 : 0) * h * w) }
            batch.masks = try Tensor(all, shape: [planes, h, w])
        }
        return batch
    }
}

/// An integer behind a lock.
final class LockedCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()

    func withLock<R>(_ body: (inout Int) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
