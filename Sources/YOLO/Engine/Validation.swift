import Foundation
import Torch

extension Validator {
    /// A validator for `config`'s dataset (`data`, `split`, `imgsz`, `batch`, `workers`, rectangular batches), as
    /// `yolo val` builds it. With `folder`, it also writes there what `plots` and `save_json` ask for.
    public static func forDataset(
        _ config: Config, names: [Int: String]? = nil, stride: Int = 32, folder: URL? = nil, masks: MaskFormat? = nil,
        keypoints: Bool = false
    ) throws -> Validator {
        guard let data = config.string("data") else { throw ConfigError("val needs data=path/to/data.yaml") }
        let path = BuiltInDataset.isBuiltIn(data)
            ? try BuiltInDataset.shapes(labels: BuiltInDataset.labels(for: config.string("task"))).path : data
        let spec = try DatasetSpec(contentsOf: path)
        let batch = config.int("batch") ?? 16
        let dataset = try ValDataset(
            spec: spec, split: config.string("split") ?? "val", imgsz: config.int("imgsz") ?? 640, batchSize: batch,
            rect: true, stride: stride, singleClass: config.bool("single_cls"), keypoints: keypoints)
        let loader = try DataLoader(dataset: dataset, batchSize: batch, workers: config.int("workers") ?? 8, shuffle: false)
        loader.masks = masks
        let datasetNames = Dictionary(uniqueKeysWithValues: spec.names.enumerated().map { ($0.offset, $0.element) })
        let validator = Validator(loader: loader, names: names ?? datasetNames, config: config)
        validator.keypointSigmas = spec.keypointSigmas
        if let folder, config.bool("plots") || config.bool("save_json") {
            let names = validator.names
            let files = ValidationFiles(
                folder: folder, plots: config.bool("plots"), saveJSON: config.bool("save_json"),
                classMap: ValidationFiles.classMap(splitPaths: spec.splits[config.string("split") ?? "val"] ?? [], classCount: names.count),
                names: (0..<(names.keys.max().map { $0 + 1 } ?? 0)).map { names[$0] ?? "\($0)" }, maxDet: validator.maxDet)
            files.singleClass = validator.singleClass
            validator.files = files
        }
        return validator
    }

    /// The reference's speed line.
    public static func speedLine(_ output: ValidationOutput) -> String {
        String(format: "Speed: %.1fms preprocess, %.1fms inference, %.1fms loss, %.1fms postprocess per image",
               output.speed.preprocess, output.speed.inference, output.speed.loss, output.speed.postprocess)
    }

    /// `metrics.json`: the summary numbers for pipelines.
    public static func metricsJSON(_ output: ValidationOutput) throws -> Data {
        let r = output.results
        var perClass: [String: Double] = [:]
        for (i, c) in r.perClass.classes.enumerated() { perClass[r.names[c] ?? "\(c)"] = r.classAP[i] }
        var object: [String: Any] = [
            "precision": r.precision, "recall": r.recall, "mAP50": r.map50, "mAP50-95": r.map, "fitness": r.fitness,
            "images": r.imageCount, "instances": r.instancesPerClass.reduce(0, +), "per_class_mAP50-95": perClass,
            "speed_ms": ["preprocess": output.speed.preprocess, "inference": output.speed.inference,
                         "postprocess": output.speed.postprocess],
        ]
        for (key, m) in [("mask", output.masks), ("pose", output.pose)] {  // beside the box metrics; fitness their sum
            guard let m else { continue }
            object[key] = ["precision": m.precision, "recall": m.recall, "mAP50": m.map50, "mAP50-95": m.map]
            object["fitness"] = output.fitness
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}
