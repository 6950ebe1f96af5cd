import Foundation
import Torch
import XCTest

@testable import YOLO

/// `device=` as the reference's `select_device` parses and checks it, on machines described to it; `amp=` as its
/// trainer decides; and training under bfloat16 autocast on the CPU, with the scaler's state in `last.pt`.
final class DeviceAndPrecisionTests: TinyDatasetTestCase {
    let noGPU = DeviceSelection.Machine(cudaCount: 0, mpsAvailable: false, visibleDevices: nil)
    let oneGPU = DeviceSelection.Machine(cudaCount: 1, mpsAvailable: false, visibleDevices: nil)
    let twoGPUs = DeviceSelection.Machine(cudaCount: 2, mpsAvailable: false, visibleDevices: "0,1")

    func testTheReferencesDeviceStringsParse() {
        XCTAssertEqual(DeviceSelection.parse(nil), "")
        XCTAssertEqual(DeviceSelection.parse(.null), "")
        XCTAssertEqual(DeviceSelection.parse("cuda:0"), "0")
        XCTAssertEqual(DeviceSelection.parse("CUDA"), "0")
        XCTAssertEqual(DeviceSelection.parse(.int(1)), "1")
        XCTAssertEqual(DeviceSelection.parse(.list([.int(0), .int(1)])), "0,1")
        XCTAssertEqual(DeviceSelection.parse("[0, 1]"), "0,1")
        XCTAssertEqual(DeviceSelection.parse("cpu"), "cpu")
    }

    func testDevicesPickedOnEachMachine() throws {
        XCTAssertEqual(try DeviceSelection("cpu", machine: twoGPUs).device, .cpu)  // explicit cpu wins
        XCTAssertEqual(try DeviceSelection(nil, machine: noGPU).device, .cpu)
        XCTAssertEqual(try DeviceSelection(nil, machine: oneGPU).device, .cuda(0))  // none: the GPU when there is one
        XCTAssertEqual(try DeviceSelection("cuda:1", machine: twoGPUs).device, .cuda(1))
        XCTAssertEqual(try DeviceSelection(.int(1), machine: twoGPUs).device, .cuda(1))
        XCTAssertEqual(try DeviceSelection("mps", machine: noGPU).device, .cpu)  // no MPS: the CPU, as the reference
        // A DDP rank takes the device at its LOCAL_RANK; YOLO_DDP_CPU ranks stay on the CPU.
        XCTAssertEqual(try DeviceSelection("0,1", localRank: 1, machine: twoGPUs).device, .cuda(1))
        XCTAssertEqual(try DeviceSelection("0,1", localRank: 1, cpuRanks: true, machine: noGPU).device, .cpu)
        // This machine: explicit cpu is the CPU.
        XCTAssertEqual(try DeviceSelection("cpu").device, .cpu)
    }

    func testACUDADeviceThatIsNotThereGetsTheReferencesMessage() throws {
        XCTAssertThrowsError(try DeviceSelection("0", machine: noGPU)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("Invalid CUDA 'device=0' requested. Use 'device=cpu'"), message)
            XCTAssertTrue(message.contains("CUDA device count: 0"), message)
            XCTAssertTrue(message.contains("no CUDA device"), message)
        }
        XCTAssertThrowsError(try DeviceSelection("5", machine: oneGPU)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("'device=5'"), message)
            XCTAssertTrue(message.contains("libtorch sees 1 CUDA device(s): 0."), message)
        }
        XCTAssertThrowsError(try DeviceSelection("0,2", machine: twoGPUs))
        XCTAssertThrowsError(try DeviceSelection("gpu", machine: twoGPUs))
    }

    func testTrainingOnADeviceThatIsNotThereStopsBeforeTraining() throws {
        guard Device.cudaCount == 0 else { throw XCTSkip("this machine has a GPU") }
        let trainer = try Trainer(trainConfig(["device": .int(0)]))
        trainer.log = { _ in }
        XCTAssertThrowsError(try trainer.train()) { XCTAssertTrue("\($0)".contains("Invalid CUDA 'device=0'"), "\($0)") }
    }

    func testAmpIsDecidedAsTheReferences() throws {
        let avx2 = CPUInfo(model: "an AVX2 CPU", features: ["avx2", "fma"])
        let bf16 = CPUInfo(model: "a bfloat16 CPU", features: ["avx2", "fma", "avx512f", "avx512_bf16"])
        let amx = CPUInfo(model: "an AMX CPU", features: ["avx2", "fma", "avx512f", "amx_bf16"])
        // amp=True on a CPU without native bfloat16: float32, as the reference (no check is run).
        XCTAssertNil(try TrainingPrecision(.bool(true), device: .cpu, cpu: avx2) { _ in XCTFail("checked"); return true }.autocast)
        XCTAssertNil(try TrainingPrecision(nil, device: .cpu, cpu: avx2).autocast)
        // With native bfloat16 (AVX-512 BF16 or AMX): bfloat16 autocast once its check passes, else float32; where the
        // fused float32 Conv block runs (faster there), float32 without a check.
        var checked: [DType] = []
        let bfloat16 = try TrainingPrecision(.bool(true), device: .cpu, cpu: bf16, fusedBlock: false) {
            checked.append($0)
            return true
        }
        XCTAssertEqual(bfloat16.autocast, .bfloat16)
        XCTAssertEqual(checked, [.bfloat16])
        XCTAssertEqual(try TrainingPrecision(nil, device: .cpu, cpu: amx, fusedBlock: false).autocast, .bfloat16)
        XCTAssertEqual(try TrainingPrecision("True", device: .cpu, cpu: amx, fusedBlock: false).autocast, .bfloat16)
        XCTAssertFalse(try TrainingPrecision(nil, device: .cpu, cpu: amx, fusedBlock: false).scalesLoss)
        XCTAssertNil(try TrainingPrecision(.bool(true), device: .cpu, cpu: bf16, fusedBlock: false) { _ in false }.autocast)
        XCTAssertNil(try TrainingPrecision(.bool(true), device: .cpu, cpu: bf16, fusedBlock: true) { _ in XCTFail("checked"); return true }.autocast)
        XCTAssertNil(try TrainingPrecision(.bool(false), device: .cpu, cpu: bf16, fusedBlock: false).autocast)
        XCTAssertNil(try TrainingPrecision("fp32", device: .cpu, cpu: bf16, fusedBlock: false).autocast)
        XCTAssertEqual(try TrainingPrecision("bf16", device: .cpu, cpu: avx2).autocast, .bfloat16)  // asked for: any CPU
        XCTAssertFalse(try TrainingPrecision("bf16", device: .cuda(0)).scalesLoss)  // bf16: no scaler
        checked = []
        let cuda = try TrainingPrecision(.bool(true), device: .cuda(0), cpu: bf16) { checked.append($0); return true }
        XCTAssertEqual(cuda.autocast, .float16)
        XCTAssertEqual(checked, [.float16])
        XCTAssertTrue(cuda.scalesLoss)
        XCTAssertNil(try TrainingPrecision(.bool(true), device: .cuda(0)) { _ in false }.autocast)  // check_amp failed
        XCTAssertNil(try TrainingPrecision(.bool(false), device: .cuda(0)).autocast)
        XCTAssertNil(try TrainingPrecision("fp32", device: .cuda(0)).autocast)
        XCTAssertThrowsError(try TrainingPrecision("fp8", device: .cpu))
    }

    /// The bfloat16 check on a trained model (the reference's overfit coco8 yolov8n, whose boxes move by several pixels
    /// in bfloat16): it passes, so amp=True trains it in bfloat16 where that is chosen.
    func testTheBFloat16CheckPassesOnATrainedModel() throws {
        let model = try DetectionModel.load(contentsOf: try Fixtures.shared("reference/yolov8n-coco8-overfit/best.pt"))
        var lines: [String] = []
        XCTAssertTrue(try TrainingPrecision.check(model, device: .cpu, dtype: .bfloat16) { lines.append($0) }, "\(lines)")
    }

    /// `half=True` at inference: float16 on CUDA, bfloat16 on CPUs with native bfloat16, float32 on other CPUs (as
    /// the reference, which ignores it on the CPU).
    func testHalfPicksTheDevicesLowerPrecision() {
        let avx2 = CPUInfo(model: "an AVX2 CPU", features: ["avx2", "fma"])
        let bf16 = CPUInfo(model: "a bfloat16 CPU", features: ["avx2", "fma", "avx512f", "avx512_bf16"])
        XCTAssertEqual(YOLO.inferenceType(half: true, device: .cpu, cpu: bf16), .bfloat16)
        XCTAssertEqual(YOLO.inferenceType(half: true, device: .cpu, cpu: avx2), .float32)
        XCTAssertEqual(YOLO.inferenceType(half: false, device: .cpu, cpu: bf16), .float32)
        XCTAssertEqual(YOLO.inferenceType(half: true, device: .cuda(0), cpu: avx2), .float16)
        XCTAssertEqual(YOLO.inferenceType(half: false, device: .cuda(0), cpu: avx2), .float32)
    }

    /// The bfloat16 check on a fresh yolov8n: its predictions under bfloat16 autocast (emulated where the CPU has no
    /// native bfloat16) agree with float32 ones within the check's bound; the model's mode is kept.
    func testTheBFloat16CheckPassesOnAHealthyModel() throws {
        let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n.yaml", nc: 2))
        model.train()
        var lines: [String] = []
        XCTAssertTrue(try TrainingPrecision.check(model, device: .cpu, dtype: .bfloat16) { lines.append($0) })
        XCTAssertTrue(model.isTraining)
        XCTAssertEqual(lines.last, "AMP: checks passed ✅")
    }

    /// amp=bf16 on the CPU: two epochs under bfloat16 autocast with finite losses, then resume; every last.pt has
    /// the (empty: no float16) scaler state, and the stripped final checkpoint has none.
    func testBFloat16TrainingOnTheCPUHasFiniteLossesAndResumes() throws {
        let first = try Trainer(trainConfig(["amp": "bf16", "epochs": .int(3), "name": .string("bf16")]))
        first.log = { _ in }
        first.stopAfterEpochs = 2
        let half = try first.train()
        XCTAssertTrue(half.interrupted)
        let saved = try Serialization.load(from: half.run.lastWeights.path)
        guard case .dict(let scaler)? = saved["scaler"] else { return XCTFail("last.pt has no scaler state") }
        XCTAssertTrue(scaler.isEmpty)
        let losses = try ResultsCSV(url: half.run.resultsCSV).read()
        for name in ["train/box_loss", "train/cls_loss", "train/dfl_loss"] {
            let column = try XCTUnwrap(losses.column(name))
            XCTAssertEqual(column.count, 2)
            XCTAssertTrue(column.allSatisfy { $0.isFinite && $0 > 0 }, "\(name): \(column)")
        }
        // Autocast did run: the same first epoch in float32 ends at other losses.
        let float32 = try Trainer(trainConfig(["amp": .bool(false), "epochs": .int(3), "name": .string("fp32")]))
        float32.log = { _ in }
        float32.stopAfterEpochs = 1
        let reference = try ResultsCSV(url: try float32.train().run.resultsCSV).read()
        XCTAssertNotEqual(reference.column("train/box_loss")?.first, losses.column("train/box_loss")?.first)

        let resumed = try Trainer(Config(["resume": .string(half.run.lastWeights.path)]))
        resumed.log = { _ in }
        XCTAssertEqual(try resumed.train().epochsCompleted, 3)
        XCTAssertNil(try Serialization.load(from: half.run.lastWeights.path)["scaler"])  // stripped at the end
    }

    /// A float16 run's scaler state goes into last.pt and comes back on load.
    func testTheScalerStateRoundTripsThroughTheTrainingCheckpoint() throws {
        let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n.yaml", nc: 2))
        let scaler = try GradScaler(initScale: 4096, growthInterval: 7)
        let url = directory.appendingPathComponent("last.pt")
        try TrainingState.save(model: model, ema: try ModelEMA(model), optimizer: try SGD(model.parameters(), lr: 0.01),
                               scaler: scaler, epoch: 3, bestFitness: nil, config: Config(), to: url)
        let state = try TrainingState.load(from: url.path)
        XCTAssertEqual(state.scaler["scale"], 4096)
        XCTAssertEqual(state.scaler["growth_interval"], 7)
        XCTAssertEqual(state.scaler["_growth_tracker"], 0)
        let restored = try GradScaler(initScale: 1)
        try restored.load(state.scaler)
        XCTAssertEqual(restored.currentScale, 4096)
    }

    private func trainConfig(_ extra: [String: ConfigValue]) throws -> Config {
        var values: [String: ConfigValue] = [
            "data": .string(try tinyDataset()), "model": .string("yolov8n.yaml"), "imgsz": .int(64), "batch": .int(4),
            "nbs": .int(4), "workers": .int(2), "project": .string(directory.appendingPathComponent("runs").path),
            "name": .string("t"), "plots": .bool(false), "val": .bool(false),
        ]
        for (k, v) in extra { values[k] = v }
        return try Config(values)
    }
}
