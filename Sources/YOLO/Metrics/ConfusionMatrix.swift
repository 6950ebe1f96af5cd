/// The detection confusion matrix, as the reference's: `matrix[predicted][true]`, (nc + 1) × (nc + 1), with a last
/// background row (missed objects) and column (detections of nothing).
public struct ConfusionMatrix: Sendable {
    public let names: [Int: String]
    public var classCount: Int { names.count }
    public private(set) var matrix: [[Double]]

    public init(names: [Int: String]) {
        self.names = names
        matrix = [[Double]](repeating: [Double](repeating: 0, count: names.count + 1), count: names.count + 1)
    }

    /// Adds one image. Detections above `conf` each claim, by descending confidence, the unclaimed ground-truth
    /// object with the highest IoU when it is above `iouThreshold`, whatever its class (so confusions between classes
    /// are counted); unmatched objects count as background predictions, unmatched detections as background truth.
    /// The validator passes its own `conf` (0.001 by default) as the reference's does.
    public mutating func process(
        detections: [Detection], groundTruth: [LabeledBox], conf: Double = 0.25, iouThreshold: Double = 0.45
    ) {
        let background = classCount
        // float32 comparisons, as the reference's on float32 tensors and arrays
        let detections = detections.filter { $0.confidence > Float(conf) }
        let threshold = Float(iouThreshold)
        var iou = boxIoU(groundTruth.map(\.box), detections.map(\.box))
        var match = [Int?](repeating: nil, count: groundTruth.count)  // the detection each object went to
        let candidates = detections.indices.filter { d in groundTruth.indices.contains { iou[$0][d] > threshold } }
        for d in NumPy.argsortDescending(candidates.map { detections[$0].confidence }).map({ candidates[$0] }) {
            var best = 0
            for g in groundTruth.indices.dropFirst() where iou[g][d] > iou[best][d] { best = g }
            if iou[best][d] > threshold {
                match[best] = d
                iou[best] = [Float](repeating: 0, count: detections.count)
            }
        }
        for (g, object) in groundTruth.enumerated() {
            let predicted = match[g].map { detections[$0].classIndex } ?? background
            add(predicted: predicted, true: object.classIndex)
        }
        let matched = Set(match.compactMap { $0 })
        for (d, detection) in detections.enumerated() where !matched.contains(d) {
            add(predicted: detection.classIndex, true: background)
        }
    }

    private mutating func add(predicted: Int, true actual: Int) {
        guard matrix.indices.contains(predicted), matrix.indices.contains(actual) else { return }
        matrix[predicted][actual] += 1
    }

    /// True positives (the diagonal) and false positives (the rest of each predicted row) per class, background
    /// excluded.
    public var truePositivesAndFalsePositives: (tp: [Double], fp: [Double]) {
        let tp = (0..<classCount).map { matrix[$0][$0] }
        return (tp, (0..<classCount).map { matrix[$0].reduce(0, +) - tp[$0] })
    }

    /// Each column divided by its sum (+ 1e-9), as the reference's normalized plot.
    public var normalized: [[Double]] {
        let sums = matrix.indices.map { c in matrix.reduce(0.0) { $0 + $1[c] } + 1e-9 }
        return matrix.map { row in row.indices.map { row[$0] / sums[$0] } }
    }
}
