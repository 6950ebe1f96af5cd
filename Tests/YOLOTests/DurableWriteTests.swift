import Foundation
import Torch
import XCTest

@testable import YOLO

/// Files are written whole or not at all: a write that fails part way (a full disk, here a file-size limit) leaves
/// the old file as it was and no temporary file behind, and names the file it could not write; a training run that
/// cannot save its checkpoint stops with that message, and resumes from the checkpoint it had.
final class DurableWriteTests: TinyDatasetTestCase {
    func testAFailedWriteKeepsTheOldFileAndLeavesNothingBehind() throws {
        let target = directory.appendingPathComponent("last.pt")
        try DurableFile.write("the old file", to: target)
        let big = Data(repeating: 7, count: 256 * 1024)
        XCTAssertThrowsError(try withFileSizeLimit(64 * 1024) { try DurableFile.write(big, to: target) }) { error in
            XCTAssertTrue("\(error)".contains(target.path), "\(error)")
            XCTAssertTrue("\(error)".contains("File too large"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "the old file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["last.pt"])

        try DurableFile.write(big, to: target)  // without the limit it goes through, replacing the old one
        XCTAssertEqual(try Data(contentsOf: target), big)
        let copy = directory.appendingPathComponent("best.pt")
        try DurableFile.copy(target, to: copy)
        XCTAssertEqual(try Data(contentsOf: copy), big)
        XCTAssertThrowsError(try DurableFile.write("x", to: directory.appendingPathComponent("no/such/folder/x"))) {
            XCTAssertTrue("\($0)".contains("no/such/folder/x"), "\($0)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["best.pt", "last.pt"])
    }

    func testTrainingThatCannotSaveStopsNamingTheFileAndResumesFromTheOldCheckpoint() throws {
        guard let yolo = KillResumeTests.yoloExecutable() else {
            throw XCTSkip("no yolo executable beside the test bundle; build it with `swift build --build-tests`")
        }
        // One epoch of three, saved as an interrupted run would be.
        let config = try Config([
            "data": .string(try tinyDataset()), "model": .string("yolov8n.yaml"), "imgsz": .int(64), "batch": .int(4),
            "workers": .int(1), "project": .string(directory.appendingPathComponent("runs").path), "name": .string("t"),
            "plots": .bool(false), "optimizer": .string("SGD"), "epochs": .int(3), "close_mosaic": .int(0),
        ])
        let first = try Trainer(config)
        first.log = { _ in }
        first.stopAfterEpochs = 1
        let run = try first.train().run
        let lastPT = run.lastWeights
        let saved = try Data(contentsOf: lastPT)

        // Resumed by the command line under a file-size limit below a checkpoint's size: epoch 2's save fails.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -f \(saved.count / 2 / 512) && exec \"$0\" train resume model=\"$1\"",
                             yolo.path, lastPT.path]
        var environment = ProcessInfo.processInfo.environment
        environment["OMP_NUM_THREADS"] = "1"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0, text)
        XCTAssertEqual(process.terminationReason, .exit, "killed by a signal instead of failing cleanly:\n\(text)")
        XCTAssertTrue(text.contains("cannot write \(lastPT.path): File too large"), text)
        XCTAssertTrue(text.contains("Training stopped at epoch 2"), text)
        XCTAssertTrue(text.contains("yolo train resume model=\(lastPT.path)"), text)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run.weights.path).sorted(), ["best.pt", "last.pt"])
        XCTAssertEqual(try Data(contentsOf: lastPT), saved, "the old last.pt changed")
        XCTAssertEqual(try TrainingState.load(from: lastPT.path).epoch, 0)

        // With room again, resume finishes the run.
        let resumed = try Trainer(Config(["resume": .string(lastPT.path)]))
        resumed.log = { _ in }
        XCTAssertEqual(try resumed.train().epochsCompleted, 3)
        XCTAssertEqual(try ResultsCSV(url: run.resultsCSV).read().rows.map { $0[0] }, [1, 2, 3])
    }

    func testTheFinalCheckpointHoldsFloat16WeightsThatLoad() throws {
        let config = try Config([
            "data": .string(try tinyDataset()), "model": .string("yolov8n.yaml"), "imgsz": .int(64), "batch": .int(4),
            "workers": .int(1), "project": .string(directory.appendingPathComponent("runs").path), "name": .string("t"),
            "plots": .bool(false), "epochs": .int(1), "val": .bool(false),
        ])
        let trainer = try Trainer(config)
        trainer.log = { _ in }
        let run = try trainer.train().run
        let stored = try Serialization.load(from: run.lastWeights.path)
        guard case .dict(let weights)? = stored["model"] else { return XCTFail("no model entry") }
        let types = Set(weights.compactMap { $0.1.tensor?.dtype })
        XCTAssertTrue(types.contains(.float16), "\(types)")
        XCTAssertFalse(types.contains(.float32), "\(types)")
        XCTAssertNil(stored["optimizer"])
        XCTAssertNil(stored["train_model"])
        let model = try DetectionModel.load(contentsOf: run.lastWeights.path)
        XCTAssertEqual(model.stateDict().first?.1.dtype, .float32)  // loaded into the float32 model
    }
}

/// Runs `body` with the process's file-size limit (RLIMIT_FSIZE) at `bytes`: a write past it fails with EFBIG
/// (SIGXFSZ ignored meanwhile, as the `yolo` command and Python do).
func withFileSizeLimit<R>(_ bytes: Int, _ body: () throws -> R) throws -> R {
    #if os(Linux)
    let resource = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
    #else
    let resource = RLIMIT_FSIZE
    #endif
    var previous = rlimit()
    guard getrlimit(resource, &previous) == 0 else { throw XCTSkip("getrlimit failed") }
    var limited = previous
    limited.rlim_cur = rlim_t(bytes)
    let handler = signal(SIGXFSZ, SIG_IGN)
    guard setrlimit(resource, &limited) == 0 else { throw XCTSkip("setrlimit(RLIMIT_FSIZE) failed") }
    defer {
        setrlimit(resource, &previous)
        signal(SIGXFSZ, handler)
    }
    return try body()
}
