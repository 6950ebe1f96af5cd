// bench-step: where a training step's time goes, ours and the reference's, phase by phase, on one fixed batch
// (yolov8n.yaml, nc 80, batch 16, the same synthetic images and boxes on both sides): forward, loss, backward,
// clipping + AdamW step, EMA update. --task segment: yolov8n-seg.yaml, each box also a rectangular mask (overlap
// index maps at imgsz / 4, later boxes over earlier ones). Times are the main thread's CPU time, so with one torch thread (the default
// here) a busy machine distorts them little; the median of --steps steps after 2 warm-up steps.
//
//   swift build -c release --scratch-path .build-bench --product bench-step && .build-bench/release/bench-step \
//       [--imgsz 320] [--batch 16] [--threads 1] [--steps 6] [--python PATH] [--swift-only] [--profile trace.json]
//       [--task detect|segment] [--no-winograd]
// --no-winograd: our 3x3 stride-1 convolutions on libtorch's kernels instead of NNPACK's Winograd one (pip's torch).
// --profile writes our last step's libtorch operator calls (of --profile-phase only, when given; else one file per
// phase, PATH.forward ...) as Chrome traces; bench/python/trace_summary.py sums one. The reference side does the same
// with PATH.reference.
import Foundation
import Torch
import YOLO

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
let imgsz = Int(option("--imgsz") ?? "") ?? 320
let batchSize = Int(option("--batch") ?? "") ?? 16
let threads = Int(option("--threads") ?? "") ?? 1
let steps = max(1, Int(option("--steps") ?? "") ?? 6)
if arguments.contains("--no-winograd") { Runtime.winogradConvolutions = false }
let python = option("--python") ?? "/work/.venv-ultralytics/bin/python"
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
let script = packageRoot.appendingPathComponent("bench/python/step_bench.py").path
let phases = ["forward", "loss", "backward", "optimizer", "ema"]
let segment = option("--task") == "segment"
let modelYAML = segment ? "yolov8n-seg.yaml" : "yolov8n.yaml"

func threadCPU() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// The batch both sides use: images from a fixed formula, three boxes per image.
func syntheticTargets() -> [Float] {
    var rows: [Float] = []
    for i in 0..<batchSize {
        for j in 0..<3 {
            rows += [Float(i), Float((i * 7 + j * 13) % 80), 0.2 + 0.3 * Float(j), 0.3 + 0.02 * Float(i),
                     0.1 + 0.05 * Float(j), 0.15]
        }
    }
    return rows
}

/// Segment: (batch, imgsz / 4, imgsz / 4) index maps, object j of an image (its j-th row) painted as its box with
/// value j + 1, later objects over earlier ones (the loss reads the maps as the loader writes them).
func syntheticMasks() -> [Int32] {
    let side = imgsz / 4
    let rows = syntheticTargets()
    var maps = [Int32](repeating: 0, count: batchSize * side * side)
    for r in 0..<(rows.count / 6) {
        let (i, j) = (Int(rows[r * 6]), r % 3)
        let (cx, cy, w, h) = (rows[r * 6 + 2], rows[r * 6 + 3], rows[r * 6 + 4], rows[r * 6 + 5])
        let (x1, x2) = (Int((cx - w / 2) * Float(side)), Int((cx + w / 2) * Float(side)))
        let (y1, y2) = (Int((cy - h / 2) * Float(side)), Int((cy + h / 2) * Float(side)))
        for y in max(y1, 0)..<min(y2, side) {
            for x in max(x1, 0)..<min(x2, side) { maps[(i * side + y) * side + x] = Int32(j + 1) }
        }
    }
    return maps
}

func measureSwift() throws -> [String: Double] {
    Runtime.threads = threads
    Runtime.seed(0)
    _ = AllocatorTuning.applied  // as training has it, from its first DataLoader
    let model = try DetectionModel(spec: ModelSpec(contentsOf: modelYAML, nc: 80))
    model.train()
    let detection = DetectionLoss(model: model)
    let masks = try Tensor(syntheticMasks(), shape: [batchSize, imgsz / 4, imgsz / 4])
    func criterion(_ head: HeadOutput, targets: Tensor) throws -> LossResult {
        segment ? try SegmentationLoss(detection: detection, overlap: true)(head, targets: targets, masks: masks)
            : try detection(head, targets: targets)
    }
    let optimizer = try OptimizerChoice.choose(name: "AdamW", lr: 0.001, momentum: 0.9, classes: 80, iterations: 100)
        .make(ParameterGroups(model), weightDecay: 0.0005)
    let ema = try ModelEMA(model)
    let n = batchSize * 3 * imgsz * imgsz
    let images = try Tensor((0..<n).map { Float(($0 * 2_654_435_761) % 1000) / 1000 }, shape: [batchSize, 3, imgsz, imgsz])
    let targets = try Tensor(syntheticTargets(), shape: [batchSize * 3, 6])
    var times: [String: [Double]] = [:]
    let profilePath = option("--profile"), profilePhase = option("--profile-phase")
    func step(_ step: Int) throws {
        // The last step's `profilePhase` (or all of it) is recorded when --profile is given.
        let profiling = profilePath != nil && step == steps + 1
        func phase<R>(_ name: String, _ body: () throws -> R) throws -> R {
            let start = threadCPU()
            let result: R
            if profiling, profilePhase == nil || profilePhase == name, let path = profilePath {
                result = try Runtime.profile(to: profilePhase == nil ? "\(path).\(name)" : path, body)
            } else {
                result = try body()
            }
            if step >= 2 { times[name, default: []].append(threadCPU() - start) }
            return result
        }
        let head = try phase("forward") { try model.forwardRaw(images) }
        let loss = try phase("loss") { try criterion(head, targets: targets) }
        try phase("backward") { try loss.total.backward() }
        try phase("optimizer") {
            try clipGradNorm(model.parameters(), maxNorm: 10)
            try optimizer.step()
            try optimizer.zeroGrad()
        }
        try phase("ema") { try ema.update(from: model) }
    }
    for i in 0..<(steps + 2) { try step(i) }
    return times.mapValues(median)
}

func measurePython() throws -> [String: Double] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script, "\(imgsz)", "\(batchSize)", "\(threads)", "\(steps)", segment ? "segment" : "detect"]
        + (option("--profile").map { [$0 + ".reference", option("--profile-phase") ?? "loss"] } ?? [])
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, let json = try JSONSerialization.jsonObject(with: data) as? [String: Double]
    else { throw TorchError("the reference side failed (\(python) \(script))") }
    return json
}

do {
    print("bench-step: \(modelYAML), batch \(batchSize), imgsz \(imgsz), \(threads) torch threads, main-thread CPU ms, median of \(steps) steps")
    print("machine: \(CPUInfo.current); ours on libtorch \(Runtime.torchVersion)"
        + (arguments.contains("--swift-only") ? "" : ", the reference on \(python)'s torch"))
    let ours = try measureSwift()
    let reference = arguments.contains("--swift-only") ? [:] : try measurePython()
    print("phase".padding(toLength: 12, withPad: " ", startingAt: 0) + "  swift-yolo   reference   ratio")
    for phase in phases + ["total"] {
        let a = phase == "total" ? phases.compactMap { ours[$0] }.reduce(0, +) : ours[phase] ?? .nan
        let b = phase == "total" ? phases.compactMap { reference[$0] }.reduce(0, +) : reference[phase] ?? .nan
        print(phase.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "  %9.1f   %9.1f   %5.2f", a, b, a / b))
    }
} catch {
    FileHandle.standardError.write("bench-step: \(error)\n".data(using: .utf8)!)
    exit(1)
}
