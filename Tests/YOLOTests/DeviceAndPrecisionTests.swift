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
        XCTAssertNil(try TrainingPrecision(.bool(true), device: .cpu).autocast)  // the CPU trains in float32 at amp=True
        XCTAssertNil(try TrainingPrecision(nil, device: .cpu).autocast)
        XCTAssertEqual(try TrainingPrecision("bf16", device: .cpu).autocast, .bfloat16)
        XCTAssertFalse(try TrainingPrecision("bf16", device: .cuda(0)).scalesLoss)  // bf16: no scaler
        let cuda = try TrainingPrecision(.bool(true), device: .cuda(0)) { true }
        XCTAssertEqual(cuda.autocast, .float16)
        XCTAssertTrue(cuda.scalesLoss)
        XCTAssertNil(try TrainingPrecision(.bool(true), device: .cuda(0)) { false }.autocast)  // check_amp failed
        XCTAssertNil(try TrainingPrecision(.bool(false), device: .cuda(0)).autocast)
        XCTAssertNil(try TrainingPrecision("fp32", device: .cuda(0)).autocast)
        XCTAssertThrowsError(try TrainingPrecision("fp8", device: .cpu))
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
