/// Average precision of one precision-recall curve, as the reference's `compute_ap`: sentinels at both ends, the
/// precision envelope (running maximum from the right), then 101-point interpolation (COCO) integrated by the
/// trapezoid rule. Returns the AP with the envelope and the recall it is drawn against.
public func computeAP(recall: [Double], precision: [Double]) -> (ap: Double, envelope: [Double], recall: [Double]) {
    let mrec = [0.0] + recall + [recall.last ?? 1.0, 1.0]
    var mpre = [1.0] + precision + [0.0, 0.0]
    for i in stride(from: mpre.count - 2, through: 0, by: -1) { mpre[i] = max(mpre[i], mpre[i + 1]) }
    let ap = NumPy.trapezoid(NumPy.interp(recallPoints101, mrec, mpre), recallPoints101)
    return (ap, mpre, mrec)
}

private let recallPoints101 = NumPy.linspace(0, 1, 101)

/// Curves for plots, over 1000 points `x` in [0, 1]: rows follow `APResult.classes`.
public struct MetricCurves: Sendable {
    /// The x axis: confidence for the P, R and F1 curves, recall for the PR curve.
    public var x: [Double]
    public var precision: [[Double]]  // precision at confidence x (IoU 0.5)
    public var recall: [[Double]]  // recall at confidence x (IoU 0.5)
    public var f1: [[Double]]  // F1 at confidence x (IoU 0.5)
    public var precisionAtRecall: [[Double]]  // PR curve: the precision envelope at recall x (IoU 0.5)
}

/// Per-class results of `apPerClass`; every per-class array follows `classes`.
public struct APResult: Sendable {
    /// The classes that have ground truth, ascending.
    public var classes: [Int]
    /// Ground-truth objects of each class.
    public var targetCounts: [Int]
    /// True and false positives at the confidence of the best mean F1 (rounded, as the reference's).
    public var truePositives: [Double]
    public var falsePositives: [Double]
    /// Precision, recall and F1 at the confidence of the best (smoothed) mean F1.
    public var precision: [Double]
    public var recall: [Double]
    public var f1: [Double]
    /// AP at each IoU threshold (classes × thresholds).
    public var ap: [[Double]]
    /// The index into `curves.x` of the confidence where precision, recall and F1 were read.
    public var bestF1Index: Int
    public var curves: MetricCurves
}

/// Precision, recall, F1 and AP per class, as the reference's `ap_per_class`.
///
/// `truePositives` holds for each prediction whether it is correct at each IoU threshold (see `matchPredictions`);
/// `confidence` and `predictedClasses` describe the predictions, `targetClasses` lists the class of every
/// ground-truth object. Predictions are ranked by descending confidence (ties keep their order); each class's
/// precision and recall curves are sampled at 1000 confidences; P, R and F1 are read where the mean F1 over classes,
/// smoothed by a box filter a tenth of the range wide, is highest.
public func apPerClass(
    truePositives: [[Bool]], confidence: [Float], predictedClasses: [Int], targetClasses: [Int], eps: Double = 1e-16
) -> APResult {
    precondition(
        truePositives.count == confidence.count && confidence.count == predictedClasses.count,
        "apPerClass: \(truePositives.count) tp rows, \(confidence.count) confidences, "
            + "\(predictedClasses.count) classes")
    let order = NumPy.argsortDescending(confidence)
    let tp = order.map { truePositives[$0] }, conf = order.map { confidence[$0] }
    let cls = order.map { predictedClasses[$0] }
    let thresholds = tp.first?.count ?? mapIoUThresholds.count

    let counts = Dictionary(targetClasses.map { ($0, 1) }, uniquingKeysWith: +)
    let classes = counts.keys.sorted()
    let x = NumPy.linspace(0, 1, 1000), negativeX = x.map { -$0 }
    let zeros = [Double](repeating: 0, count: x.count)
    var ap = [[Double]](repeating: [Double](repeating: 0, count: thresholds), count: classes.count)
    var pCurve = [[Double]](repeating: zeros, count: classes.count), rCurve = pCurve, prCurve = pCurve

    var rowsOfClass = [Int: [Int]]()  // ranks of each class's predictions
    for (rank, c) in cls.enumerated() where counts[c] != nil { rowsOfClass[c, default: []].append(rank) }
    for (ci, c) in classes.enumerated() {
        guard let rows = rowsOfClass[c] else { continue }
        let labels = counts[c]!
        let negativeConf = rows.map { -Double(conf[$0]) }
        var recall = [[Double]](repeating: [], count: thresholds), precision = recall
        for k in 0..<thresholds {
            var hits = 0, misses = 0
            for r in rows {
                if tp[r][k] { hits += 1 } else { misses += 1 }
                recall[k].append(Double(hits) / (Double(labels) + eps))
                precision[k].append(Double(hits) / Double(hits + misses))
            }
        }
        rCurve[ci] = NumPy.interp(negativeX, negativeConf, recall[0], left: 0)
        pCurve[ci] = NumPy.interp(negativeX, negativeConf, precision[0], left: 1)
        for k in 0..<thresholds {
            let result = computeAP(recall: recall[k], precision: precision[k])
            ap[ci][k] = result.ap
            if k == 0 { prCurve[ci] = NumPy.interp(x, result.recall, result.envelope) }
        }
    }

    let f1Curve = zip(pCurve, rCurve).map { p, r in x.indices.map { 2 * p[$0] * r[$0] / (p[$0] + r[$0] + eps) } }
    var best = 0
    if !classes.isEmpty {
        // np.mean over classes: a running sum per column, then a division
        let meanF1 = x.indices.map { i in f1Curve.reduce(0.0) { $0 + $1[i] } / Double(classes.count) }
        best = NumPy.argmax(NumPy.smooth(meanF1, fraction: 0.1))
    }
    let p = pCurve.map { $0[best] }, r = rCurve.map { $0[best] }, f1 = f1Curve.map { $0[best] }
    let truePositiveCounts = zip(r, classes).map { ($0 * Double(counts[$1]!)).rounded(.toNearestOrEven) }
    let falsePositiveCounts = zip(truePositiveCounts, p).map { ($0 / ($1 + eps) - $0).rounded(.toNearestOrEven) }
    return APResult(
        classes: classes, targetCounts: classes.map { counts[$0]! }, truePositives: truePositiveCounts,
        falsePositives: falsePositiveCounts, precision: p, recall: r, f1: f1, ap: ap, bestF1Index: best,
        curves: MetricCurves(x: x, precision: pCurve, recall: rCurve, f1: f1Curve, precisionAtRecall: prCurve))
}
