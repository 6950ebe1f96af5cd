// bench-predict: predict latency and val throughput, ours and the reference's (Ultralytics' YOLO(pt).predict and
// YOLO(pt).val, run by bench/python/predict_val_bench.py in one long-lived process), with the same checkpoint, the
// same number of torch threads, on the CPU, printed side by side with the ratios.
//
//   swift build -c release --product bench-predict --scratch-path .build-bench && .build-bench/release/bench-predict \
//       [--threads N] [--rounds R] [--iterations I] [--imgsz 640] [--batch 16] [--workers W] [--copies C]
//       [--checkpoint PT] [--python PATH] [--swift-only] [--no-val] [--no-predict] [--defaults] [--profile TRACE.json]
//       [--task detect|segment|pose] [--nchw] [--no-winograd] [--half]
//
// --nchw: our inference in NCHW, as the reference's, instead of channels-last (to measure what the layout gains).
// --no-winograd: our 3x3 stride-1 convolutions on oneDNN's direct kernel instead of NNPACK's Winograd one (pip's torch).
// --half: both sides get half=True: ours then runs in bfloat16 on CPUs with native bfloat16 (float32 elsewhere), the
// reference ignores it on the CPU (float32).
//
// --task segment: the reference's yolov8n-seg checkpoint (../shared/reference/yolov8n-seg-coco8/best.pt), val on
// coco8-seg with box and mask metrics, predict with masks. --task pose: its yolov8n-pose checkpoint
// (../shared/reference/yolov8n-pose-coco8/best.pt), val on coco8-pose with box and keypoint metrics, predict with
// keypoints.
//
// --defaults runs each side with its own thread setting instead of --threads: ours all cores (as the CLI), the
// reference min(8, cores - 1) (what its select_device sets: 1 on a 2-core machine).
//
// predict: bus.jpg and zidane.jpg, decoded once; each side warms up 3 calls per image, then R rounds of I calls per
// image alternate the sides call by call; a call's time is preprocess + inference + postprocess (each side's own
// per-stage timers); the figure is the median over the pairs of ours / the reference's.
// val: coco8's 4 validation images copied C times (default 8) into a temporary folder per side (no label cache is
// shared or written into ../shared), batch 16, plots off; images per second is images / wall time of the whole val
// call (dataset scan, loader, model, NMS, metrics).
// Rounds alternate the sides, so that a busy spell of the machine does not fall on one side only; the ratio of each
// side's best round is printed, and the median over rounds of the ratio within a round (the two sides measured
// minutes apart at most; on a VM whose speed drifts this is the steadier figure). Both sides fuse the model's batch
// norms into the convolutions, as `predict` and `val` do.
import Foundation
import Torch
import Vision
import YOLO

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
let cores = ProcessInfo.processInfo.activeProcessorCount
let defaults = arguments.contains("--defaults")
let threads = defaults ? cores : Int(option("--threads") ?? "") ?? cores
let rounds = max(1, Int(option("--rounds") ?? "") ?? 3)
let iterations = max(1, Int(option("--iterations") ?? "") ?? 20)
let imgsz = Int(option("--imgsz") ?? "") ?? 640
let batchSize = Int(option("--batch") ?? "") ?? 16
let workers = Int(option("--workers") ?? "") ?? min(cores, 8)
let copies = Int(option("--copies") ?? "") ?? 8
let python = option("--python") ?? "/work/.venv-ultralytics/bin/python"
let swiftOnly = arguments.contains("--swift-only")
let half = arguments.contains("--half")
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
let task = option("--task") ?? "detect"
/// Each task's checkpoint and dataset in ../shared.
let taskFiles = ["detect": ("reference/yolov8n-coco8/yolov8n-trained.pt", "datasets/coco8"),
                 "segment": ("reference/yolov8n-seg-coco8/best.pt", "datasets/coco8-seg"),
                 "pose": ("reference/yolov8n-pose-coco8/best.pt", "datasets/coco8-pose")]
guard let (checkpointFile, datasetFolder) = taskFiles[task] else {
    fatalError("--task takes detect, segment or pose, not \(task)")
}
let checkpoint = option("--checkpoint") ?? shared.appendingPathComponent(checkpointFile).path
let images = ["bus.jpg", "zidane.jpg"].map { shared.appendingPathComponent("assets/\($0)").path }
let coco8 = shared.appendingPathComponent(datasetFolder).path
let script = packageRoot.appendingPathComponent("bench/python/predict_val_bench.py").path

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

/// coco8's validation images and labels copied `copies` times into a new folder, with a data YAML (and, for pose,
/// its kpt_shape and flip_idx).
func makeDataset(_ tag: String) throws -> (folder: String, yaml: String, count: Int) {
    let fm = FileManager.default
    let folder = fm.temporaryDirectory.appendingPathComponent("swift-yolo-bench-predict-\(tag)-\(getpid())").path
    for sub in ["images/val", "labels/val"] { try fm.createDirectory(atPath: "\(folder)/\(sub)", withIntermediateDirectories: true) }
    let files = try fm.contentsOfDirectory(atPath: "\(coco8)/images/val").filter { $0.hasSuffix(".jpg") }.sorted()
    for file in files {
        let stem = String(file.dropLast(4))
        for copy in 0..<copies {
            try fm.copyItem(atPath: "\(coco8)/images/val/\(file)", toPath: "\(folder)/images/val/\(stem)_\(copy).jpg")
            try fm.copyItem(atPath: "\(coco8)/labels/val/\(stem).txt", toPath: "\(folder)/labels/val/\(stem)_\(copy).txt")
        }
    }
    let yaml = try DatasetSpec(contentsOf: "\(coco8).yaml").yaml(path: folder, train: "images/val", val: "images/val")
    try yaml.write(toFile: "\(folder)/data.yaml", atomically: true, encoding: .utf8)
    return (folder, "\(folder)/data.yaml", files.count * copies)
}

/// The reference, one process for the whole run: a command per line in, a JSON line out.
final class Reference {
    let process = Process()
    let input = Pipe(), output = Pipe()
    var buffer = Data()

    init() throws {
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, checkpoint, defaults ? "default" : "\(threads)"] + (half ? ["half"] : [])
        process.standardInput = input
        process.standardOutput = output
        process.currentDirectoryURL = FileManager.default.temporaryDirectory
        try process.run()
    }

    func ask(_ command: String) throws -> [String: Any] {
        input.fileHandleForWriting.write(Data((command + "\n").utf8))
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw DataError("the reference side exited (\(python) \(script))") }
            buffer.append(chunk)
        }
        let end = buffer.firstIndex(of: UInt8(ascii: "\n"))!
        let line = buffer[buffer.startIndex..<end]
        buffer = Data(buffer[buffer.index(after: end)...])
        guard let json = try JSONSerialization.jsonObject(with: line) as? [String: Any] else {
            throw DataError("the reference side answered \(String(decoding: line, as: UTF8.self))")
        }
        return json
    }

    func close() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// Our val of `yaml`: wall seconds of the whole call (dataset, loader, pass) and its per-image stage times.
func valSwift(_ model: DetectionModel, yaml: String) throws -> (seconds: Double, speed: [Double], map: Double) {
    let start = now()
    let config = try Config([
        "data": .string(yaml), "imgsz": .int(imgsz), "batch": .int(batchSize), "workers": .int(workers),
        "mode": .string("val"), "conf": .double(0.001), "plots": .bool(false),
    ])
    let task = try TaskComponents(model: model, config: config)
    let validator = try Validator.forDataset(
        config, names: model.names, masks: task.masks, keypoints: task.readsKeypoints)
    let output = try validator.run(model, showProgress: false)
    let s = output.speed
    return ((now() - start) / 1000, [s.preprocess, s.inference, s.postprocess], output.results.map)
}

func label(_ path: String) -> String { (path as NSString).lastPathComponent.padding(toLength: 10, withPad: " ", startingAt: 0) }

func stageText(_ speed: [String: Double]) -> String {
    String(format: "pre %.1f + inf %.1f + post %.1f", speed["preprocess"] ?? 0, speed["inference"] ?? 0, speed["postprocess"] ?? 0)
}

do {
    Runtime.threads = threads
    let model = try DetectionModel.load(contentsOf: checkpoint)
    try model.fuse()
    model.eval()
    try model.to(device: .cpu, dtype: YOLO.inferenceType(half: half, device: .cpu))
    model.channelsLastInference = !arguments.contains("--nchw")  // --nchw: the layout the reference runs in
    if arguments.contains("--no-winograd") { Runtime.winogradConvolutions = false }
    var config = Config()
    try config.set("imgsz", .int(imgsz))
    let predictor = Predictor(model: model, config: config)
    predictor.log = { _ in }
    let decoded = try images.map { try Image(contentsOf: $0) }
    if let path = option("--profile") {  // one predict of the first image, after warm-up, as a Chrome trace
        for _ in 0..<3 { _ = try predictor.predict(decoded[0]) }
        _ = try Runtime.profile(to: path) { try predictor.predict(decoded[0]) }
    }
    let reference = swiftOnly ? nil : try Reference()
    defer { reference?.close() }
    let threadText = defaults ? "each side's default torch threads (ours \(threads), the reference min(8, cores - 1))"
        : "\(threads) torch threads on both sides"
    print("bench-predict: \((checkpoint as NSString).lastPathComponent), CPU, \(threadText), "
        + "\(cores) cores, \(rounds) rounds alternating the sides")
    print("machine: \(CPUInfo.current); ours on libtorch \(Runtime.torchVersion) in \(model.dtype)"
        + (swiftOnly ? "" : ", the reference on \(python)'s torch"))

    if !arguments.contains("--no-predict") {
        // Calls alternate between the sides one by one, so that both see the same moment of the machine; the ratio
        // of each pair is the figure (its median), the sides' medians are printed too.
        print("predict at imgsz \(imgsz): \(rounds) rounds of \(iterations) calls per image, alternating ours and the "
            + "reference call by call, after 3 warm-up calls (ms: preprocess + inference + postprocess)")
        for image in decoded { for _ in 0..<3 { _ = try predictor.predict(image) } }
        var ours = [[Double]](repeating: [], count: images.count), theirs = ours, ratios = ours
        for round in 1...rounds {
            for (i, (path, image)) in zip(images, decoded).enumerated() {
                var mine: [Double] = [], reference_: [Double] = [], speeds: [[String: Double]] = []
                for _ in 0..<iterations {
                    let r = try predictor.predict(image)
                    mine.append(["preprocess", "inference", "postprocess"].reduce(0) { $0 + (r.speed[$1] ?? 0) })
                    speeds.append(r.speed)
                    guard let reference else { continue }
                    let answer = try reference.ask("predict \(imgsz) 1 \(path)")
                    let stages = (answer[path] as? [String: Any])?["stages_ms"] as? Double ?? .nan
                    reference_.append(stages)
                    ratios[i].append(mine.last! / stages)
                }
                ours[i] += mine
                theirs[i] += reference_
                let stage = Dictionary(uniqueKeysWithValues: ["preprocess", "inference", "postprocess"].map { k in
                    (k, median(speeds.map { $0[k] ?? 0 }))
                })
                var line = "  round \(round) \(label(path))" + String(format: " swift-yolo %6.1f ms (", median(mine)) + stageText(stage) + ")"
                if !reference_.isEmpty { line += String(format: ", reference %6.1f ms", median(reference_)) }
                print(line)
            }
        }
        for (i, path) in images.enumerated() {
            var line = "  \(label(path))" + String(format: " swift-yolo %6.1f ms", median(ours[i]))
            if !theirs[i].isEmpty {
                line += String(format: ", reference %6.1f ms, ratio ours/reference %.2f (median of %d paired calls; goal <= 0.8)",
                               median(theirs[i]), median(ratios[i]), ratios[i].count)
            }
            print(line)
        }
    }

    if !arguments.contains("--no-val") {
        let ourData = try makeDataset("swift"), theirData = try makeDataset("reference")
        defer {
            try? FileManager.default.removeItem(atPath: ourData.folder)
            try? FileManager.default.removeItem(atPath: theirData.folder)
        }
        print("val at imgsz \(imgsz), batch \(batchSize), \(workers) workers, \(ourData.count) images (coco8 val x\(copies)), "
            + "plots off; one warm-up val per side, then \(rounds) rounds")
        _ = try valSwift(model, yaml: ourData.yaml)
        _ = try reference?.ask("val \(theirData.yaml) \(imgsz) \(batchSize) \(workers)")
        var ours: [Double] = [], theirs: [Double] = []
        for round in 1...rounds {
            let mine = try valSwift(model, yaml: ourData.yaml)
            ours.append(Double(ourData.count) / mine.seconds)
            var line = String(format: "  round %d: swift-yolo %6.2f images/s (%.1f pre + %.1f inf + %.1f post ms/image, mAP50-95 %.4f)",
                              round, ours.last!, mine.speed[0], mine.speed[1], mine.speed[2], mine.map)
            if let reference {
                let r = try reference.ask("val \(theirData.yaml) \(imgsz) \(batchSize) \(workers)")
                let seconds = r["seconds"] as? Double ?? .nan
                let speed = r["speed"] as? [String: Double] ?? [:]
                theirs.append(Double(theirData.count) / seconds)
                line += String(format: "; reference %6.2f images/s (%.1f pre + %.1f inf + %.1f post, mAP50-95 %.4f)", theirs.last!,
                               speed["preprocess"] ?? .nan, speed["inference"] ?? .nan, speed["postprocess"] ?? .nan,
                               r["mAP50-95"] as? Double ?? .nan)
            }
            print(line)
        }
        var line = String(format: "  val swift-yolo %6.2f images/s", ours.max()!)
        if let best = theirs.max() {
            line += String(format: ", reference %6.2f images/s, ratio ours/reference %.2f best rounds, %.2f median of rounds (goal >= 1.2)",
                           best, ours.max()! / best, median(zip(ours, theirs).map { $0 / $1 }))
        }
        print(line)
    }
} catch {
    FileHandle.standardError.write(Data("bench-predict: \(error)\n".utf8))
    exit(1)
}
