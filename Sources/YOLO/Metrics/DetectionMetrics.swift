import Torch

/// Precision, recall and F1 of one image at IoU 0.5, as the reference's per-image metrics.
public struct ImageMetrics: Equatable, Sendable, Codable {
    public var precision: Double, recall: Double, f1: Double
    public var truePositives: Int, falsePositives: Int, falseNegatives: Int
}

/// Accumulates detections and ground truth image by image, then scores them as the reference's `DetMetrics`. One
/// AP engine for every task: it takes the IoU matrix of an image (boxes here; masks for segmentation).
///
///     var metrics = DetectionMetrics(names: model.names)
///     for image in images {                      // predictions: NMS output, in the image's pixel space
///         try metrics.update(predictions: nmsOutput[i], boxes: gtBoxesXYXY, classes: gtClasses, imageName: name)
///     }
///     let results = metrics.compute()            // results.precision, .recall, .map50, .map, .fitness, per class
public struct DetectionMetrics: Sendable {
    public let names: [Int: String]
    public let iouThresholds: [Float]
    private var correct: [[Bool]] = []
    private var confidence: [Float] = []
    private var predictedClasses: [Int] = []
    private var targetClasses: [Int] = []
    private var imageClasses: [Int] = []  // each image's distinct ground-truth classes
    /// Per-image metrics, by image name (images added without a name are not listed).
    public private(set) var imageMetrics: [String: ImageMetrics] = [:]
    /// Images added so far.
    public private(set) var imageCount = 0

    public init(names: [Int: String], iouThresholds: [Float] = mapIoUThresholds) {
        self.names = names
        self.iouThresholds = iouThresholds
    }

    /// Adds one image: its detections in descending confidence order (as NMS returns them) and its ground truth,
    /// both in the same pixel space.
    public mutating func update(predictions: [Detection], groundTruth: [LabeledBox], imageName: String? = nil) {
        update(
            predictions: predictions, trueClasses: groundTruth.map(\.classIndex),
            iou: boxIoU(groundTruth.map(\.box), predictions.map(\.box)), imageName: imageName)
    }

    /// Adds one image from the IoU of each ground-truth object (rows) with each prediction (columns), in whatever
    /// sense the task measures overlap.
    public mutating func update(predictions: [Detection], trueClasses truth: [Int], iou: [[Float]], imageName: String? = nil) {
        let classes = predictions.map(\.classIndex)
        let tp = matchPredictions(predictedClasses: classes, trueClasses: truth, iou: iou, thresholds: iouThresholds)
        correct += tp
        confidence += predictions.map(\.confidence)
        predictedClasses += classes
        targetClasses += truth
        imageClasses += Set(truth).sorted()
        imageCount += 1
        if let imageName {
            imageMetrics[imageName] = Self.imageMetrics(tp: tp, predictions: classes.count, targets: truth.count)
        }
    }

    /// Adds one image from tensors: `predictions` (n, 6) as NMS returns them, `boxes` (m, 4) x1, y1, x2, y2 and
    /// `classes` (m,) of its ground truth.
    public mutating func update(predictions: Tensor, boxes: Tensor, classes: Tensor, imageName: String? = nil) throws {
        let objects = try LabeledBox.rows(boxes: boxes, classes: classes)
        update(predictions: try Detection.rows(of: predictions), groundTruth: objects, imageName: imageName)
    }

    /// Scores everything added so far.
    public func compute() -> DetectionResults {
        let ap = apPerClass(
            truePositives: correct, confidence: confidence, predictedClasses: predictedClasses,
            targetClasses: targetClasses)
        let size = max(names.count, (targetClasses.max() ?? -1) + 1)
        return DetectionResults(
            names: names, perClass: ap, instancesPerClass: Self.bincount(targetClasses, size),
            imagesPerClass: Self.bincount(imageClasses, size), imageCount: imageCount)
    }

    /// Forgets every image.
    public mutating func reset() { self = DetectionMetrics(names: names, iouThresholds: iouThresholds) }

    private static func imageMetrics(tp: [[Bool]], predictions: Int, targets: Int) -> ImageMetrics {
        let hits = tp.filter { $0.first ?? false }.count
        var precision = 1.0, recall = 1.0, f1 = 1.0  // an empty image with no detections is a correct call
        if predictions > 0 || targets > 0 {
            precision = predictions > 0 ? Double(hits) / Double(predictions) : 0
            recall = targets > 0 ? Double(hits) / Double(targets) : 0
            f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        }
        return ImageMetrics(
            precision: precision, recall: recall, f1: f1, truePositives: hits, falsePositives: predictions - hits,
            falseNegatives: targets - hits)
    }

    private static func bincount(_ values: [Int], _ size: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: size)
        for v in values where v >= 0 && v < size { counts[v] += 1 }
        return counts
    }
}

/// What a validation reports: the reference's mean P, R, mAP50, mAP50-95 and fitness, with per-class rows.
public struct DetectionResults: Sendable {
    public let names: [Int: String]
    /// Per-class results and curves, for the classes that have ground truth.
    public let perClass: APResult
    /// Ground-truth objects, and images containing the class, per class index.
    public let instancesPerClass: [Int]
    public let imagesPerClass: [Int]
    public let imageCount: Int

    private var isEmpty: Bool { perClass.classes.isEmpty }
    /// Mean precision and recall over classes, at the confidence of the best mean F1.
    public var precision: Double { isEmpty ? 0 : NumPy.mean(perClass.precision) }
    public var recall: Double { isEmpty ? 0 : NumPy.mean(perClass.recall) }
    /// Mean AP at IoU 0.5, at IoU 0.75, and over 0.50:0.95.
    public var map50: Double { meanAP(threshold: 0) }
    public var map75: Double { meanAP(threshold: 5) }
    public var map: Double { isEmpty ? 0 : NumPy.mean(perClass.ap.flatMap { $0 }) }
    /// AP50-95 of each class that has ground truth, in `perClass.classes` order.
    public var classAP: [Double] { perClass.ap.map { NumPy.mean($0) } }
    /// AP50-95 per class index (`names.count` long); classes without ground truth get the overall mAP.
    public var maps: [Double] {
        var values = [Double](repeating: map, count: names.count)
        for (c, ap) in zip(perClass.classes, classAP) where c < values.count { values[c] = ap }
        return values
    }
    /// What training keeps the best checkpoint by: this reference version weighs [P, R, mAP50, mAP50-95] by
    /// [0, 0, 0, 1], so fitness is mAP50-95 (NaN counts as 0).
    public var fitness: Double { map.isNaN ? 0 : map }

    /// P, R, mAP50, mAP50-95.
    public var meanResults: [Double] { [precision, recall, map50, map] }
    /// P, R, AP50, AP50-95 of the i-th row of `perClass`.
    public func classResult(_ i: Int) -> [Double] {
        [perClass.precision[i], perClass.recall[i], perClass.ap[i][0], classAP[i]]
    }

    /// The reference's `results_dict` keys and values, in its order.
    public static let keys = keys(suffix: "B")
    /// The keys of one kind of result: B (boxes), M (masks), P (pose).
    public static func keys(suffix: String) -> [String] {
        ["precision", "recall", "mAP50", "mAP50-95"].map { "metrics/\($0)(\(suffix))" }
    }
    public var resultsDictionary: [(key: String, value: Double)] {
        zip(Self.keys + ["fitness"], meanResults + [fitness]).map { ($0, $1) }
    }

    private func meanAP(threshold k: Int) -> Double {
        isEmpty || perClass.ap[0].count <= k ? 0 : NumPy.mean(perClass.ap.map { $0[k] })
    }
}
