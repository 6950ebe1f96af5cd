// bench-train: training images per second, ours (the Trainer, in this process) and the reference's (Ultralytics'
// trainer, run by bench/python/train_bench.py), side by side: yolov8n.yaml from scratch, batch 16, the default
// augmentations, one epoch on coco8's 4 training images repeated to 128 (8 batches), CPU. Each side is timed from
// the end of its warm-up batches to the end of the epoch (data loading, forward, backward, optimizer and EMA
// included; dataset scan and validation not). Also prints each side's first-epoch mean losses (box, cls, dfl).
//
//   swift build -c release --scratch-path .build-bench-train --product bench-train &&
//       .build-bench-train/release/bench-train [--imgsz 320,640] [--modes defaults,equal] [--threads N] [--batch 16]
//       [--copies 32] [--warmup 2] [--rounds 1] [--python PATH] [--swift-only] [--workers N (ours)]
//       [--task detect|segment|pose] [--same-init] [--no-winograd] [--amp True|False|bf16]
//   (--task segment: yolov8n-seg.yaml on coco8-seg, the losses box, seg, cls, dfl, sem;
//    --task pose: yolov8n-pose.yaml on coco8-pose, kpt_shape [17, 3], the losses box, pose, kobj, cls, dfl)
//   (--same-init: both sides start from one initial model, the reference's fresh draw at seed 0 saved by
//    bench/python/init_checkpoint.py, so that their first-epoch losses compare data and training, not the draw)
//   (--no-winograd: our 3x3 stride-1 convolutions on libtorch's kernels instead of NNPACK's Winograd one, pip's torch)
//   (--amp: both sides' `amp` (default: each side's default, True: bfloat16 autocast for ours on CPUs with native
//    bfloat16 where the fused float32 block does not run, float32 for the reference, which turns AMP off on the
//    CPU; the reference 8.4.190 raises for bf16 on the CPU); each side's line says what it trained in)
//   (or `make bench-train`)
//
// Modes: `defaults` runs each side as it runs itself (ours: torch threads = cores, as the CLI sets them, and data
// worker threads; the reference on CPU: min(8, cores - 1) torch threads and no worker processes); `equal` sets
// both sides' torch threads to --threads (default: cores). Rounds alternate which side goes first, and each side's
// best round counts.
import Foundation
import Torch
import YOLO

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
let cores = ProcessInfo.processInfo.activeProcessorCount
if arguments.contains("--no-winograd") { Runtime.winogradConvolutions = false }
let sizes = (option("--imgsz") ?? "320,640").split(separator: ",").compactMap { Int($0) }
let modes = (option("--modes") ?? "defaults,equal").split(separator: ",").map(String.init)
let equalThreads = Int(option("--threads") ?? "") ?? cores
let batchSize = Int(option("--batch") ?? "") ?? 16
let copies = Int(option("--copies") ?? "") ?? 32
let warmup = max(1, Int(option("--warmup") ?? "") ?? 2)
let rounds = max(1, Int(option("--rounds") ?? "") ?? 1)
let swiftOnly = arguments.contains("--swift-only")
let python = option("--python") ?? "/work/.venv-ultralytics/bin/python"
let task = option("--task") ?? "detect"
/// Each task's model and dataset (the reference's names).
let taskFiles = ["detect": ("yolov8n.yaml", "coco8"), "segment": ("yolov8n-seg.yaml", "coco8-seg"),
                 "pose": ("yolov8n-pose.yaml", "coco8-pose")]
guard let (modelYAML, datasetName) = taskFiles[task] else { fatalError("--task takes detect, segment or pose, not \(task)") }
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
let coco8 =
    option("--coco8")
    ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/datasets/\(datasetName)").path
let script = packageRoot.appendingPathComponent("bench/python/train_bench.py").path
let sameInit = arguments.contains("--same-init")
let amp = option("--amp")
let work = FileManager.default.temporaryDirectory.appendingPathComponent("swift-yolo-bench-train-\(getpid())").path

struct SideResult {
    var imagesPerSecond: Double
    var losses: [Double]
    var threads: Int
    var workers: Int
    /// What the forward and loss ran in: "fp32" or "bf16"/"fp16" autocast.
    var precision: String
}

/// coco8's training images and labels copied `copies` times each (label caches land here, not in the shared
/// dataset; copies, as our image listing does not follow symbolic links), its 4 validation images, and a YAML
/// naming its classes (and, for pose, its kpt_shape and flip_idx).
func makeDataset() throws -> String {
    let fm = FileManager.default
    for sub in ["images/train", "labels/train", "images/val", "labels/val"] {
        try fm.createDirectory(atPath: "\(work)/data/\(sub)", withIntermediateDirectories: true)
    }
    for split in ["train", "val"] {
        let images = try fm.contentsOfDirectory(atPath: "\(coco8)/images/\(split)").filter { $0.hasSuffix(".jpg") }
        guard !images.isEmpty else { throw DataError("no coco8 images in \(coco8)/images/\(split)") }
        for image in images.sorted() {
            let stem = String(image.dropLast(4))
            for copy in 0..<(split == "train" ? copies : 1) {
                try fm.copyItem(
                    atPath: "\(coco8)/images/\(split)/\(image)", toPath: "\(work)/data/images/\(split)/\(stem)_\(copy).jpg")
                try fm.copyItem(
                    atPath: "\(coco8)/labels/\(split)/\(stem).txt", toPath: "\(work)/data/labels/\(split)/\(stem)_\(copy).txt")
            }
        }
    }
    let yaml = try DatasetSpec(contentsOf: "\(coco8).yaml").yaml(path: "\(work)/data", train: "images/train", val: "images/val")
    try yaml.write(toFile: "\(work)/data.yaml", atomically: true, encoding: .utf8)
    return "\(work)/data.yaml"
}

/// Our Trainer for one epoch, timed by an on_train_batch_end callback (as the reference side is).
func measureSwift(yaml: String, model startingModel: String, imgsz: Int, threads: Int) throws -> SideResult {
    Runtime.threads = threads
    let trainer = try Trainer(Config([
        "data": .string(yaml), "model": .string(startingModel), "task": .string(task), "epochs": .int(1), "imgsz": .int(imgsz),
        "batch": .int(batchSize), "val": .bool(false), "plots": .bool(false), "project": .string("\(work)/runs"),
        "name": .string("swift"), "exist_ok": .bool(true), "seed": .int(0),
    ].merging(option("--workers").flatMap(Int.init).map { ["workers": .int($0)] } ?? [:]) { $1 }
     .merging(amp.map { ["amp": ConfigValue.string($0)] } ?? [:]) { $1 }))
    var ampChecked = false
    trainer.log = { if $0.contains("AMP: checks passed") { ampChecked = true } }
    var marks: [UInt64] = []
    trainer.callbacks.add(.onTrainBatchEnd) { _ in marks.append(DispatchTime.now().uptimeNanoseconds) }
    let result = try trainer.train()
    let timed = marks.dropFirst(warmup - 1)
    let seconds = Double(timed.last! - timed.first!) / 1e9
    let table = try ResultsCSV(url: result.run.resultsCSV).read()
    // The last row: the run folder is reused, and results.csv appended to, as the reference does.
    let losses = table.columns.filter { $0.hasPrefix("train/") }.map { table.column($0)?.last ?? .nan }
    // What the loader uses: --workers or the default, capped at the cores.
    let workers = min(option("--workers").flatMap(Int.init) ?? Config().int("workers") ?? 8, cores)
    let lowered = amp?.lowercased() == "bf16" || ampChecked
    return SideResult(imagesPerSecond: Double(batchSize * (timed.count - 1)) / seconds, losses: losses,
                       threads: Runtime.threads, workers: workers, precision: lowered ? "bf16" : "fp32")
}

/// The reference's trainer, through train_bench.py (threads 0: its own choice).
func measurePython(yaml: String, model startingModel: String, imgsz: Int, threads: Int) throws -> SideResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script, yaml, "\(imgsz)", "\(batchSize)", "\(warmup)", "\(threads)", "\(work)/runs", startingModel,
                         amp ?? "True"]
    process.currentDirectoryURL = URL(fileURLWithPath: work)
    let out = Pipe()
    process.standardOutput = out
    let errors = "\(work)/reference-stderr.log"
    _ = FileManager.default.createFile(atPath: errors, contents: nil)
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    guard process.terminationStatus == 0,
        let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
        let rate = json["images_per_second"] as? Double
    else {
        let tail = ((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "").suffix(3000)
        throw DataError("the reference side failed (\(python) \(script)):\n\(tail)")
    }
    // The reference trains the CPU in bfloat16 only at amp=bf16.
    return SideResult(imagesPerSecond: rate, losses: (json["losses"] as? [Double]) ?? [],
                       threads: json["threads"] as? Int ?? -1, workers: json["workers"] as? Int ?? -1,
                       precision: amp?.lowercased() == "bf16" ? "bf16" : "fp32")
}

/// The reference's initial model for `modelYAML` at seed 0, saved as a checkpoint (for --same-init).
func saveInitialModel() throws -> String {
    let path = "\(work)/initial.pt"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [packageRoot.appendingPathComponent("bench/python/init_checkpoint.py").path, modelYAML, path]
    process.currentDirectoryURL = URL(fileURLWithPath: work)
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw DataError("\(python) init_checkpoint.py \(modelYAML) failed") }
    return path
}

func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3)
        .joined(separator: " ")
}

func describe(_ m: SideResult) -> String {
    String(format: "%6.2f images/s (", m.imagesPerSecond) + m.precision
        + String(format: ", %d torch threads, %d data workers)", m.threads, m.workers)
}

do {
    defer { try? FileManager.default.removeItem(atPath: work) }
    let yaml = try makeDataset()
    // What both sides train from: the model YAML, or with --same-init one saved initial model.
    let startingModel = sameInit ? try saveInitialModel() : modelYAML
    print("bench-train: \(modelYAML) from \(sameInit ? "one initial model (the reference's draw at seed 0)" : "scratch"), batch \(batchSize), \(copies * 4) images (\(URL(fileURLWithPath: coco8).lastPathComponent) train x\(copies)), "
        + "1 epoch timed after \(warmup) warm-up batches, \(rounds) round(s), \(cores) cores, load average \(loadAverage())")
    print("machine: \(CPUInfo.current); ours on libtorch \(Runtime.torchVersion)"
        + (swiftOnly ? "" : ", the reference on \(python)'s torch"))
    for mode in modes {
        for imgsz in sizes {
            let ourThreads = mode == "equal" ? equalThreads : cores
            let theirThreads = mode == "equal" ? equalThreads : 0
            var ours: [SideResult] = [], theirs: [SideResult] = []
            for round in 0..<rounds {  // alternate which side goes first
                if round % 2 == 1, !swiftOnly { theirs.append(try measurePython(yaml: yaml, model: startingModel, imgsz: imgsz, threads: theirThreads)) }
                ours.append(try measureSwift(yaml: yaml, model: startingModel, imgsz: imgsz, threads: ourThreads))
                if round % 2 == 0, !swiftOnly { theirs.append(try measurePython(yaml: yaml, model: startingModel, imgsz: imgsz, threads: theirThreads)) }
            }
            let a = ours.max { $0.imagesPerSecond < $1.imagesPerSecond }!
            print("imgsz \(imgsz), \(mode == "equal" ? "equal threads" : "each side's defaults"):")
            print("  swift-yolo  " + describe(a) + "  losses " + a.losses.map { String(format: "%.4f", $0) }.joined(separator: " "))
            guard let b = theirs.max(by: { $0.imagesPerSecond < $1.imagesPerSecond }) else { continue }
            print("  reference   " + describe(b) + "  losses " + b.losses.map { String(format: "%.4f", $0) }.joined(separator: " "))
            let goal = mode == "equal" ? 1.1 : 1.3
            let differences = zip(a.losses, b.losses).map { $1 == 0 ? ($0 == 0 ? "=0" : "n/a") : String(format: "%+.1f%%", 100 * ($0 - $1) / $1) }
            print(String(format: "  ratio %.2fx (goal >= %.1f); ", a.imagesPerSecond / b.imagesPerSecond, goal)
                + "loss differences \(differences.joined(separator: " ")) (goal within 5%); load \(loadAverage())")
        }
    }
} catch {
    FileHandle.standardError.write(Data("bench-train: \(error)\n".utf8))
    exit(1)
}
