import Foundation
import Torch

/// What a validation pass measured.
public struct ValidationOutput {
    /// Box metrics.
    public let results: DetectionResults
    /// What the task scores beside boxes, by kind: "M" masks (segment), "P" keypoints (pose).
    public var instances: [String: DetectionResults] = [:]
    /// Mask metrics (segmentation models).
    public var masks: DetectionResults? { instances["M"] }
    /// Keypoint (OKS) metrics (pose models).
    public var pose: DetectionResults? { instances["P"] }
    /// Mean loss per batch, one per name of the task's loss (when a loss was given).
    public let loss: [Double]?
    public var lossNames: [String] = []
    /// Milliseconds per image: preprocess, inference, loss, postprocess.
    public let speed: (preprocess: Double, inference: Double, loss: Double, postprocess: Double)
    /// Detections above `conf` against the ground truth, for the confusion matrix plots.
    public var confusion: ConfusionMatrix? = nil
    /// The reference's: the sum of each kind's fitness (box mAP50-95, plus mask or pose mAP50-95).
    public var fitness: Double { results.fitness + instances.values.map(\.fitness).reduce(0, +) }
    /// P, R, mAP50, mAP50-95 of each kind (B, then M or P), then fitness: the reference's `results_dict`.
    public var resultsDictionary: [(key: String, value: Double)] {
        var entries = zip(DetectionResults.keys, results.meanResults).map { ($0, $1) }
        for (kind, r) in instances.sorted(by: { $0.key < $1.key }) {
            entries += zip(DetectionResults.keys(suffix: kind), r.meanResults).map { ($0, $1) }
        }
        return entries + [("fitness", fitness)]
    }
}

/// Runs a model over a validation loader as the reference's `DetectionValidator`: letterboxed (rectangular) batches,
/// NMS at conf 0.001 / IoU 0.7 with every label above conf, matches in the model's input space, and the reference's
/// table.
public final class Validator {
    public let loader: DataLoader
    public let names: [Int: String]
    public var conf: Double, iou: Double, maxDet: Int, singleClass: Bool, agnostic: Bool
    public var log: (String) -> Void = { print($0) }
    /// Batch plots and predictions.json, when set (`yolo val` sets it from plots= and save_json=).
    public var files: ValidationFiles?
    /// Pose: the dataset's `kpt_oks_sigmas`, when it has them.
    public var keypointSigmas: [Float]?

    public init(loader: DataLoader, names: [Int: String], config: Config = Config()) {
        self.loader = loader
        self.names = names
        conf = config.double("conf") ?? 0.001
        iou = config.double("iou") ?? 0.7
        maxDet = config.int("max_det") ?? 300
        singleClass = config.bool("single_cls")
        agnostic = config.bool("agnostic_nms")
    }

    /// Validates `model` (switched to eval mode for the pass and restored after). With `loss`, also the mean loss.
    /// A segmentation model is scored on its masks too (the loader must carry them: see `MaskFormat`), a pose model
    /// on its keypoints (the loader's dataset must read them).
    public func run(_ model: DetectionModel, loss: (any TaskLoss)? = nil, showProgress: Bool = true) throws -> ValidationOutput {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var metrics = DetectionMetrics(names: names)
        let matcher = try instanceMatcher(
            for: model, masks: loader.masks, nativeMasks: files?.saveJSON == true, oksSigmas: keypointSigmas)
        var instanceMetrics = DetectionMetrics(names: names)
        var confusion = ConfusionMatrix(names: names)
        var lossSum = [Double](repeating: 0, count: loss?.names.count ?? 0), batches = 0
        var times = [0.0, 0.0, 0.0, 0.0], images = 0
        let bar = showProgress ? ProgressBar(total: loader.batchCount, description: Validator.header(for: model)) : nil
        let epoch = loader.epoch(0)
        let (device, dtype) = (model.device, model.dtype)
        for batch in epoch {
            var t = Date()
            func lap(_ k: Int) { times[k] += Date().timeIntervalSince(t); t = Date() }
            var x = try batch.normalizedImages(device: device)
            if dtype != .float32 { x = try x.to(dtype) }  // half=True
            lap(0)
            let (head, predictions) = try withNoGrad { () -> (HeadOutput, Tensor) in
                let head = try model.forwardRaw(x)
                return (head, try model.detect.decode(head).to(.float32))
            }
            lap(1)
            if let loss {
                let items = try withNoGrad { try loss(head, batch: batch).items }
                for k in lossSum.indices { lossSum[k] += items[k] }
            }
            lap(2)
            let nms = try nonMaxSuppression(
                prediction: predictions, conf: conf, iou: iou, agnostic: singleClass || agnostic, multiLabel: true,
                maxDet: maxDet, nc: model.classCount)
            let kept = try nms.map { try $0.slice(dim: 1, end: 6) }
            try update(&metrics, batch: batch, detections: kept, confusion: &confusion)
            if let matcher { try updateInstances(&instanceMetrics, matcher: matcher, batch: batch, detections: nms, head: head) }
            lap(3)
            // Untimed, as the reference's plots and JSON.
            try files?.add(batch: batch, detections: nms, head: head, keypointShape: (model.detect as? Pose)?.keypointShape)
            batches += 1
            images += batch.count
            bar?.update()
        }
        if let error = epoch.error { throw error }
        bar?.close()
        try files?.finish()
        let results = metrics.compute()
        let instanceResults = matcher.map { ($0, instanceMetrics.compute()) }  // scored once, reported twice
        let instances = instanceResults.map { [$0.0.kind: $0.1] } ?? [:]
        if let files, files.plots {  // the curves and confusion matrices, as the reference's val with plots=True
            try ValidationPlots.write(
                results: results, instances: instanceResults.map { [($0.0.title, $0.1)] } ?? [], confusion: confusion,
                to: files.folder)
        }
        let perImage = times.map { $0 * 1000 / Double(Swift.max(images, 1)) }
        return ValidationOutput(
            results: results, instances: instances,
            loss: loss == nil ? nil : lossSum.map { $0 / Double(Swift.max(batches, 1)) }, lossNames: loss?.names ?? [],
            speed: (perImage[0], perImage[1], perImage[2], perImage[3]), confusion: confusion)
    }

    /// Adds each image's predictions against its ground truth as the task's matcher measures their overlap.
    func updateInstances(
        _ metrics: inout DetectionMetrics, matcher: any InstanceMatcher, batch: Batch, detections: [Tensor], head: HeadOutput
    ) throws {
        for (i, predicted) in detections.enumerated() {
            let objects = (0..<(batch.targetValues.count / 6)).filter { Int(batch.targetValues[6 * $0]) == i }
            let trueClasses = objects.map { singleClass ? 0 : Int(batch.targetValues[6 * $0 + 1]) }
            var rows = try Detection.rows(of: predicted)
            if singleClass { rows = rows.map { var d = $0; d.classIndex = 0; return d } }
            let iou = try matcher.overlap(batch: batch, image: i, objects: objects, predictions: predicted, head: head)
            metrics.update(predictions: rows, trueClasses: trueClasses, iou: iou,
                           imageName: URL(fileURLWithPath: batch.paths[i]).lastPathComponent)
        }
    }

    /// Adds each image's detections and its ground truth (scaled to the batch's pixels) to the metrics.
    func update(
        _ metrics: inout DetectionMetrics, batch: Batch, detections: [Tensor], confusion: inout ConfusionMatrix
    ) throws {
        let (h, w) = (Float(batch.shape.height), Float(batch.shape.width))
        for (i, var predicted) in detections.enumerated() {
            var boxes: [Float] = [], classes: [Float] = []
            for row in stride(from: 0, to: batch.targetValues.count, by: 6) where Int(batch.targetValues[row]) == i {
                let r = batch.targetValues[row + 1..<row + 6].map { $0 }
                let (cx, cy, bw, bh) = (r[1] * w, r[2] * h, r[3] * w, r[4] * h)
                boxes += [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]
                classes.append(singleClass ? 0 : r[0])
            }
            if singleClass, predicted.size(0) > 0 {
                predicted = try Tensor.cat([predicted.slice(dim: 1, end: 5), predicted.slice(dim: 1, start: 5, end: 6) * 0], dim: 1)
            }
            let truth = try Tensor(boxes, shape: [classes.count, 4])
            try metrics.update(
                predictions: predicted, boxes: truth, classes: Tensor(classes),
                imageName: URL(fileURLWithPath: batch.paths[i]).lastPathComponent)
            // At the validator's conf, as the reference's (0.001 for val).
            confusion.process(detections: try Detection.rows(of: predicted),
                              groundTruth: try LabeledBox.rows(boxes: truth, classes: Tensor(classes)), conf: conf)
        }
    }

    /// The table header, as the reference prints it (segmentation adds `Mask(P R mAP50 mAP50-95)`, pose `Pose(...)`).
    public static let header = header(kinds: ["Box"])
    public static func header(for model: DetectionModel) -> String {
        let matcher = (try? instanceMatcher(for: model, masks: MaskFormat())) ?? nil
        return header(kinds: ["Box"] + (matcher.map { [$0.title] } ?? []))
    }
    static func header(kinds: [String]) -> String {
        let columns = ["Images", "Instances"] + kinds.flatMap { ["\($0)(P", "R", "mAP50", "mAP50-95)"] }
        return "Class".leftPadded(22) + columns.map { $0.leftPadded(11) }.joined()
    }

    /// The `all` row and, with `perClass`, one row per class that has labels; the mask or pose columns beside the
    /// box ones when `masks` (or keypoint results) are given.
    public func table(_ results: DetectionResults, masks: DetectionResults? = nil, perClass: Bool) -> [String] {
        func row(_ name: String, _ images: Int, _ instances: Int, _ values: [Double]) -> String {
            name.leftPadded(22) + "\(images)".leftPadded(11) + "\(instances)".leftPadded(11)
                + values.map { String(format: "%11.3g", $0) }.joined()
        }
        var lines = [row("all", results.imageCount, results.instancesPerClass.reduce(0, +),
                         results.meanResults + (masks?.meanResults ?? []))]
        if perClass {
            for (i, c) in results.perClass.classes.enumerated() {
                let maskRow = masks.flatMap { m in m.perClass.classes.firstIndex(of: c).map { m.classResult($0) } } ?? []
                lines.append(row(names[c] ?? "\(c)", results.imagesPerClass[c], results.instancesPerClass[c],
                                 results.classResult(i) + maskRow))
            }
        }
        return lines
    }

    /// The table of a validation's output.
    public func table(_ output: ValidationOutput, perClass: Bool) -> [String] {
        table(output.results, masks: output.instances.values.first, perClass: perClass)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
