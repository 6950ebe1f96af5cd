// bench-loader: images per second of the training data loader (mosaic + random perspective + HSV + flips, the
// reference's default augmentation, at imgsz 640, batch 16), ours and the reference's (Ultralytics'
// build_yolo_dataset + build_dataloader, run by bench/python/loader_bench.py) on the same copy of coco8's training
// images and the same number of workers, printed side by side with the ratio.
//
//   swift build -c release --product bench-loader && .build/release/bench-loader \
//       [--workers N] [--epochs E] [--rounds R] [--copies C] [--imgsz 640] [--batch 16] [--python PATH] [--swift-only]
//       [--stages] (CPU time of each stage of a sample)  [--plot FILE.jpg] (coco8's first training batch, drawn)
//
// The dataset is coco8's 4 training images copied C times (default 16: 64 images, 4 batches an epoch) into a
// temporary folder, so that neither side writes a label cache into the shared datasets. Each side runs one warm-up
// epoch (worker start-up, first decodes), then E timed epochs; each batch is converted as a trainer converts it
// (uint8 -> float32 / 255). R rounds alternate the sides; the best round of each is compared, and the CPU time per
// image (all threads or processes) is printed too: it is what a busy machine distorts least.
import Foundation
import Torch
import Vision
import YOLO

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
let cores = ProcessInfo.processInfo.activeProcessorCount
let workers = Int(option("--workers") ?? "") ?? cores
let epochs = Int(option("--epochs") ?? "") ?? 5
let copies = Int(option("--copies") ?? "") ?? 16
let rounds = max(1, Int(option("--rounds") ?? "") ?? 3)
let imgsz = Int(option("--imgsz") ?? "") ?? 640
let batchSize = Int(option("--batch") ?? "") ?? 16
let python = option("--python") ?? "/work/.venv-ultralytics/bin/python"
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
let coco8 =
    option("--coco8") ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/datasets/coco8").path
let script = packageRoot.appendingPathComponent("bench/python/loader_bench.py").path

/// coco8's training images and labels, each copied `copies` times, with a YAML naming coco8's 80 classes.
func makeDataset() throws -> (folder: String, yaml: String) {
    let fm = FileManager.default
    let folder = fm.temporaryDirectory.appendingPathComponent("swift-yolo-bench-loader-\(getpid())").path
    for sub in ["images/train", "labels/train"] {
        try fm.createDirectory(atPath: "\(folder)/\(sub)", withIntermediateDirectories: true)
    }
    let images = try fm.contentsOfDirectory(atPath: "\(coco8)/images/train").filter { $0.hasSuffix(".jpg") }.sorted()
    guard !images.isEmpty else { throw DataError("no coco8 training images in \(coco8)/images/train") }
    for image in images {
        let stem = String(image.dropLast(4))
        for copy in 0..<copies {
            try fm.copyItem(
                atPath: "\(coco8)/images/train/\(image)", toPath: "\(folder)/images/train/\(stem)_\(copy).jpg")
            try fm.copyItem(
                atPath: "\(coco8)/labels/train/\(stem).txt", toPath: "\(folder)/labels/train/\(stem)_\(copy).txt")
        }
    }
    let names = try DatasetSpec(contentsOf: "\(coco8).yaml").names
    let yaml =
        "path: \(folder)\ntrain: images/train\nval: images/train\nnames:\n"
        + names.enumerated().map { "  \($0.offset): \($0.element)\n" }.joined()
    try yaml.write(toFile: "\(folder)/data.yaml", atomically: true, encoding: .utf8)
    return (folder, "\(folder)/data.yaml")
}

/// Our loader: images per second over `epochs` epochs after a warm-up epoch.
func measureSwift(yaml: String) throws -> (imagesPerSecond: Double, cpuPerImage: Double) {
    let spec = try DatasetSpec(contentsOf: yaml)
    let dataset = try TrainDataset(spec: spec, imgsz: imgsz, batchSize: batchSize, log: DataLogging.silent)
    let loader = try DataLoader(dataset: dataset, batchSize: batchSize, workers: workers, shuffle: true, seed: 0)
    func run(_ epoch: Int) throws -> Int {
        var images = 0
        let batches = loader.epoch(epoch)
        for batch in batches { images += try batch.normalizedImages().size(0) }
        if let error = batches.error { throw error }
        return images
    }
    _ = try run(0)
    let (start, cpu0) = (DispatchTime.now().uptimeNanoseconds, cpuSeconds())
    var images = 0
    for epoch in 1...epochs { images += try run(epoch) }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return (Double(images) / seconds, 1000 * (cpuSeconds() - cpu0) / Double(images))
}

/// CPU time of this process (all threads), in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The reference's loader, through loader_bench.py.
func measurePython(yaml: String) throws -> (imagesPerSecond: Double, cpuPerImage: Double, workers: Int) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script, yaml, "\(imgsz)", "\(batchSize)", "\(workers)", "\(epochs)"]
    process.currentDirectoryURL = URL(fileURLWithPath: yaml).deletingLastPathComponent()
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    guard process.terminationStatus == 0,
        let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
        let rate = json["images_per_second"] as? Double
    else { throw DataError("the reference side failed (\(python) \(script)); is ultralytics installed there?") }
    return (rate, json["cpu_ms_per_image"] as? Double ?? .nan, json["workers"] as? Int ?? -1)
}

/// CPU milliseconds per call of each stage of one training sample, in this thread, on coco8's first image: where the
/// time goes (`--stages`).
func profileStages() throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: "\(coco8)/images/train").sorted()
    let tiles = try files.prefix(4).map { file -> LabeledImage in
        let image = try Image(contentsOf: "\(coco8)/images/train/\(file)")
        let r = Double(imgsz) / Double(max(image.width, image.height))
        let resized = try image.resized(
            width: Int((Double(image.width) * r).rounded(.up)), height: Int((Double(image.height) * r).rounded(.up)))
        return LabeledImage(image: resized, labels: ObjectLabels())
    }
    var rng = SampleRNG(0)
    let repeats = 40
    func threadCPU() -> Double {  // this thread's CPU time: not inflated by waiting for a busy machine
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
    }
    func time(_ name: String, _ body: () throws -> Void) rethrows {
        try body()
        let start = threadCPU()
        for _ in 0..<repeats { try body() }
        let ms = (threadCPU() - start) / Double(repeats)
        print("  " + name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%6.2f ms", ms))
    }
    let mosaic = try Mosaic(imgsz: imgsz).apply(tiles, rng: &rng)
    let warped = try RandomPerspective(AugmentConfig(), imgsz: imgsz).apply(mosaic, rng: &rng)
    try time("decode jpg") { _ = try Image(contentsOf: "\(coco8)/images/train/\(files[0])") }
    try time("mosaic (canvas + 4 pastes)") { _ = try Mosaic(imgsz: imgsz).apply(tiles, rng: &rng) }
    try time("random perspective") { _ = try RandomPerspective(AugmentConfig(), imgsz: imgsz).apply(mosaic, rng: &rng) }
    try time("hsv") { _ = try RandomHSV().apply(warped.image, rng: &rng) }
    try time("flip") { _ = try warped.image.flipped(horizontal: true) }
    let (folder, yaml) = try makeDataset()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let dataset = try TrainDataset(
        spec: try DatasetSpec(contentsOf: yaml), imgsz: imgsz, batchSize: batchSize, log: DataLogging.silent)
    var position = 0
    try time("whole sample (one thread)") {
        position += 1
        _ = try dataset.batchSample(
            SampleRequest(index: position % dataset.count, position: position, recent: Array(0..<dataset.count)))
    }
    let loader = try DataLoader(dataset: dataset, batchSize: batchSize, workers: 0, shuffle: true)
    var epoch = 0
    try time("batch of \(batchSize) (one thread)") {
        epoch += 1
        _ = loader.epoch(epoch).next()
    }
    let batch = loader.epoch(0).next()!
    try time("batch to float (consumer)") { _ = try batch.normalizedImages() }
}

if let plot = option("--plot") {  // train_batch0.jpg of coco8 at imgsz, to look at
    let dataset = try TrainDataset(
        spec: try DatasetSpec(contentsOf: "\(coco8).yaml"), imgsz: imgsz, batchSize: batchSize,
        useLabelCache: false, log: DataLogging.silent)
    let loader = try DataLoader(dataset: dataset, batchSize: batchSize, workers: workers, seed: 0)
    try BatchPlot.save(loader.epoch(0).next()!, names: dataset.names, to: plot)
    exit(0)
}

if arguments.contains("--stages") {
    try profileStages()
    exit(0)
}

do {
    let (folder, yaml) = try makeDataset()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    print(
        "bench-loader: training loader, imgsz \(imgsz), batch \(batchSize), \(workers) workers, "
            + "\(copies * 4) images (coco8 train x\(copies)), \(epochs) timed epochs after 1 warm-up, \(rounds) rounds, "
            + "\(cores) cores")
    // Rounds alternate the two sides, so that a busy spell of the machine does not fall on one side only; each
    // side's best round counts (as a timing's minimum does).
    var swift: [(imagesPerSecond: Double, cpuPerImage: Double)] = []
    var reference: [(imagesPerSecond: Double, cpuPerImage: Double, workers: Int)] = []
    for round in 1...rounds {
        swift.append(try measureSwift(yaml: yaml))
        var line = String(
            format: "  round %d: swift-yolo %6.1f images/s (%4.1f ms CPU each)", round,
            swift.last!.imagesPerSecond, swift.last!.cpuPerImage)
        if !arguments.contains("--swift-only") {
            reference.append(try measurePython(yaml: yaml))
            line += String(
                format: ", reference %6.1f images/s (%4.1f ms CPU each), ratio %.2fx",
                reference.last!.imagesPerSecond, reference.last!.cpuPerImage,
                swift.last!.imagesPerSecond / reference.last!.imagesPerSecond)
        }
        print(line)
    }
    let ours = swift.map(\.imagesPerSecond).max()!
    let ourCPU = swift.map(\.cpuPerImage).min()!
    print(String(format: "  swift-yolo   %8.1f images/s   %5.1f ms CPU per image", ours, ourCPU))
    if reference.isEmpty { exit(0) }
    let theirs = reference.map(\.imagesPerSecond).max()!
    let theirCPU = reference.map(\.cpuPerImage).min()!
    print(
        String(
            format: "  reference    %8.1f images/s   %5.1f ms CPU per image  (%d worker processes)",
            theirs, theirCPU, reference[0].workers))
    print(
        String(
            format: "  ratio        %8.2fx images/s (goal >= 2.0); %.2fx less CPU per image", ours / theirs,
            theirCPU / ourCPU))
} catch {
    FileHandle.standardError.write(Data("bench-loader: \(error)\n".utf8))
    exit(1)
}
