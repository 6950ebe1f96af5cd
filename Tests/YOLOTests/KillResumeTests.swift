import Foundation
import XCTest

@testable import YOLO

/// SIGKILL at random moments (seeded) against the real `yolo` executable: after every kill, the run's last.pt is
/// either absent (no epoch had ended) or a checkpoint that loads and that a resumed run continues from, never a
/// half-written file; in the end a resumed run completes. scripts/kill-loop.sh is the long version of this test.
final class KillResumeTests: XCTestCase {
    /// The `yolo` built with the tests: `swift build --build-tests` puts every product beside the test bundle.
    static func yoloExecutable() -> URL? {
        let fm = FileManager.default
        var folders = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(), Bundle.main.bundleURL]
        folders += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        for folder in folders {
            for candidate in [folder, folder.deletingLastPathComponent()] {
                let yolo = candidate.appendingPathComponent("yolo")
                var isDirectory: ObjCBool = false
                if fm.fileExists(atPath: yolo.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    fm.isExecutableFile(atPath: yolo.path)
                {
                    return yolo
                }
            }
        }
        return nil
    }

    func testSIGKILLAtRandomMomentsLeavesALoadableLastCheckpointAndResumeFinishes() throws {
        guard let yolo = KillResumeTests.yoloExecutable() else {
            throw XCTSkip("no yolo executable beside the test bundle (\(CommandLine.arguments[0])); build it with "
                + "`swift build --build-tests`, which builds every product")
        }
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let data = try BuiltInDataset.shapes(
            seed: 11, trainImages: 8, valImages: 4, imageSize: 64, root: URL(fileURLWithPath: folder.file("shapes")),
            progress: false
        ).path
        let epochs = 16
        let fresh = [
            "train", "data=\(data)", "model=yolov8n.yaml", "imgsz=32", "epochs=\(epochs)", "batch=8", "workers=1",
            "val=False", "plots=False", "project=\(folder.file("runs"))", "name=kill", "exist_ok=True",
        ]
        let last = folder.file("runs/kill/weights/last.pt")
        var rng = SplitMixRandom(seed: 2024)
        var lastEpoch = -1
        var (kills, resumedKills, finished) = (0, 0, false)
        // Kill until two kills have hit resumed runs (or the run finished first, on a fast machine).
        while kills < 8, resumedKills < 2, !finished {
            let resuming = FileManager.default.fileExists(atPath: last)
            // A kill after the last epoch was saved leaves nothing to resume (the reference refuses too): done.
            if resuming, lastEpoch + 1 >= epochs { finished = true; break }
            let output = folder.file("run\(kills).log")
            let process = try launch(yolo, resuming ? ["train", "resume=\(last)"] : fresh, output: output)
            // A random moment 0.3 to 4 s into training (counted from its start, so a slow start does not eat it).
            let started = waitForLine("Starting training", in: output, process: process)
            if started { Thread.sleep(forTimeInterval: 0.3 + Double(rng.next() % 3700) / 1000) }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            kills += 1
            let log = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            if process.terminationReason == .exit {  // it ended before the kill: it must have completed
                XCTAssertEqual(process.terminationStatus, 0, "run \(kills): yolo failed:\n\(log)")
                finished = true
                break
            }
            XCTAssertTrue(started, "run \(kills): training did not start within 120 s:\n\(log)")
            if resuming {
                resumedKills += 1
                XCTAssertTrue(log.contains("Resuming training from \(last) from epoch \(lastEpoch + 2)"), "run \(kills):\n\(log)")
            }
            guard FileManager.default.fileExists(atPath: last) else { continue }
            // The checkpoint a kill leaves loads, as a model and as training state, and never goes back.
            XCTAssertNoThrow(try DetectionModel.load(contentsOf: last), "run \(kills)")
            let state: TrainingState
            do {
                state = try TrainingState.load(from: last)
            } catch where "\(error)".contains("training had finished") {
                finished = true  // killed after the last epoch was saved and stripped, before the process exited
                break
            }
            XCTAssertGreaterThanOrEqual(state.epoch, lastEpoch, "run \(kills)")
            lastEpoch = state.epoch
        }
        XCTAssertTrue(resumedKills > 0 || finished, "no kill came after an epoch had ended")
        print("kill-resume: \(kills) kills, \(resumedKills) of them in resumed runs, last.pt at epoch \(lastEpoch + 1)")

        if !finished, lastEpoch + 1 < epochs {  // the last resume runs to the end
            let output = folder.file("final.log")
            let resuming = FileManager.default.fileExists(atPath: last)
            let process = try launch(yolo, resuming ? ["train", "resume=\(last)"] : fresh, output: output)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
        }
        let rows = try ResultsCSV(url: URL(fileURLWithPath: folder.file("runs/kill/results.csv"))).read().rows
        XCTAssertEqual(rows.map { $0[0] }, (1...epochs).map { Double($0) }, "one row per epoch across kills and resumes")
        XCTAssertNoThrow(try DetectionModel.load(contentsOf: last))
    }

    /// Waits until `text` appears in the file `path` (true), or the process ends or 120 s pass (false).
    func waitForLine(_ text: String, in path: String, process: Process) -> Bool {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, process.isRunning {
            if let log = try? String(contentsOfFile: path, encoding: .utf8), log.contains(text) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    func launch(_ executable: URL, _ arguments: [String], output: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }
}
