import Foundation
import Torch
import XCTest

@testable import YOLO

/// Multi-process (DDP) training over libtorch's c10d (TCPStore + Gloo) on the CPU: the collectives in one process
/// with a thread per rank, the sampler's shards, bad setups that must fail fast, and two real `yolo train`
/// processes joined by the environment variables torchrun sets.
final class DistributedTrainingTests: TinyDatasetTestCase {
    /// Runs `body(rank)` for ranks 0 and 1 at once, each on its own thread (a rank blocks in collectives).
    func onTwoRanks(_ body: @escaping @Sendable (Int) throws -> Void) -> [Error?] {
        let errors = LockedErrors(count: 2)
        DispatchQueue.concurrentPerform(iterations: 2) { rank in
            do { try body(rank) } catch { errors.set(rank, error) }
        }
        return errors.values
    }

    func testAveragedGradientsOfTwoHalfBatchesEqualTheWholeBatchsAndBroadcastEqualizesWeights() throws {
        let port = try DDPLauncher.freePort()
        // A small network without batch norm: loss = mean((silu(x W1 + b1) W2 - y)^2); `unused` gets no gradient.
        @Sendable func loss(_ p: [Tensor], _ x: Tensor, _ y: Tensor) throws -> Tensor {
            let hidden = try (try x.matmul(p[0]) + p[1]).silu()
            return try (try hidden.matmul(p[2]) - y).square().mean()
        }
        Runtime.seed(3)
        let shapes = [[6, 5], [5], [5, 2], [3]]
        let initial = try (0..<2).map { _ in try shapes.map { try Tensor.randn($0) } }  // each rank starts elsewhere
        let (x, y) = (try Tensor.randn([8, 6]), try Tensor.randn([8, 2]))
        // One process, the whole batch, from rank 0's weights.
        let whole = try initial[0].map { try $0.clone().requiresGrad(true) }
        try loss(whole, x, y).backward()
        let expected = try whole.prefix(3).map { try XCTUnwrap($0.grad) }

        let results = ResultBox<[[Tensor]]>(count: 2)
        let errors = onTwoRanks { rank in
            let group = try ProcessGroup(masterAddress: "127.0.0.1", masterPort: port, rank: rank, worldSize: 2,
                                         connectTimeout: 30, timeout: 30)
            let params = try initial[rank].map { try $0.clone().requiresGrad(true) }
            try group.broadcast(params)
            let half = try x.narrow(dim: 0, start: 4 * rank, length: 4), halfY = try y.narrow(dim: 0, start: 4 * rank, length: 4)
            try loss(params, half, halfY).backward()
            try group.averageGradients(params)
            results.set(rank, [params, try params.map { try XCTUnwrap($0.grad) }])
        }
        XCTAssertEqual(errors.compactMap { $0 }.map { "\($0)" }, [])
        let ranks = try results.values.map { try XCTUnwrap($0) }
        for (rank, result) in ranks.enumerated() {
            for (i, p) in result[0].enumerated() {
                XCTAssertTrue(try p.equal(initial[0][i]), "rank \(rank) parameter \(i) is not rank 0's after the broadcast")
            }
            for (i, g) in expected.enumerated() {
                XCTAssertTrue(try result[1][i].allclose(g, rtol: 1e-5, atol: 1e-7),
                              "rank \(rank) gradient \(i): \((try? result[1][i].toArray(Float.self)) ?? []) vs \((try? g.toArray(Float.self)) ?? [])")
            }
            XCTAssertEqual(try result[1][3].toArray(Float.self), [0, 0, 0], "an unused parameter's gradient averages as zeros")
        }
        for i in 0..<4 { XCTAssertTrue(try ranks[0][1][i].equal(ranks[1][1][i]), "gradient \(i) differs between the ranks") }
    }

    func testShardsSplitEachEpochAsDistributedSampler() throws {
        let spec = try DatasetSpec(contentsOf: try tinyDataset())
        let train = try TrainDataset(spec: spec, imgsz: 64, batchSize: 2, log: { _ in })
        let whole = try DataLoader(dataset: train, batchSize: 2, workers: 0, shuffle: true, seed: 5)
        for world in [2, 3] {
            let loaders = try (0..<world).map {
                try DataLoader(dataset: train, batchSize: 2, workers: 0, shuffle: true, seed: 5,
                               shard: DataShard(rank: $0, worldSize: world))
            }
            for epoch in 0..<2 {
                let order = whole.order(epoch: epoch)  // the same shuffle on every rank, padded by its first indices
                let padded = order + order.prefix((world - order.count % world) % world)
                for (rank, loader) in loaders.enumerated() {
                    XCTAssertEqual(loader.sampleCount, (8 + world - 1) / world)
                    XCTAssertEqual(loader.order(epoch: epoch), stride(from: rank, to: padded.count, by: world).map { padded[$0] },
                                   "world \(world) rank \(rank) epoch \(epoch)")
                }
                let shares = loaders.map { Set($0.order(epoch: epoch)) }
                XCTAssertEqual(shares.reduce(Set<Int>()) { $0.union($1) }, Set(0..<8), "the ranks cover every image")
                if world == 2 { XCTAssertTrue(shares[0].isDisjoint(with: shares[1]), "8 images split in two without overlap") }
            }
            XCTAssertNotEqual(loaders[0].order(epoch: 0), loaders[0].order(epoch: 1), "each epoch has its own shuffle")
            XCTAssertEqual(loaders[0].batchCount, loaders[world - 1].batchCount, "every rank steps the same number of times")
        }
    }

    func testBadSetupsFailWithAClearErrorInsteadOfHanging() throws {
        let port = try DDPLauncher.freePort()
        XCTAssertThrowsError(try ProcessGroup(masterAddress: "127.0.0.1", masterPort: port, rank: 2, worldSize: 2)) {
            XCTAssertTrue("\($0)".contains("RANK must be less than WORLD_SIZE"), "\($0)")
        }
        XCTAssertThrowsError(try DistributedEnvironment.from(
            ["WORLD_SIZE": "2", "RANK": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)"])) {
            XCTAssertTrue("\($0)".contains("RANK=2 must be in 0..<WORLD_SIZE (2)"), "\($0)")
        }
        XCTAssertThrowsError(try DistributedEnvironment.from(["WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1"])) {
            XCTAssertTrue("\($0)".contains("MASTER_PORT is not set"), "\($0)")
        }
        XCTAssertNil(try DistributedEnvironment.from(["WORLD_SIZE": "1", "RANK": "0"]), "one process is not distributed")
        // Nobody listens on the port (a wrong MASTER_PORT), and a rank 0 whose peer never comes: both time out.
        for rank in [1, 0] {
            let start = Date()
            XCTAssertThrowsError(try ProcessGroup(masterAddress: "127.0.0.1", masterPort: port, rank: rank, worldSize: 2,
                                                  connectTimeout: 1, timeout: 1)) {
                XCTAssertTrue("\($0)".contains("rank \(rank) of 2 could not") && "\($0)".contains("127.0.0.1:\(port)"), "\($0)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(start), 30, "rank \(rank) waited far past its 1 s timeout")
        }
    }

    /// Rank 0 is a real `yolo train` process joined through torchrun's variables; rank 1 is a Trainer in this
    /// process, so its final weights can be compared with the ones rank 0 saved.
    func testTwoRanksTrainAsOneRunWithBitwiseEqualWeightsAndOnlyRankZeroWrites() throws {
        guard let yolo = KillResumeTests.yoloExecutable() else {
            throw XCTSkip("no yolo executable beside the test bundle; build it with `swift build --build-tests`")
        }
        let data = try tinyDataset()
        let project = directory.appendingPathComponent("runs")
        let port = try DDPLauncher.freePort()
        let settings: [(String, ConfigValue)] = [
            ("data", .string(data)), ("model", "yolov8n.yaml"), ("imgsz", 32), ("epochs", 1), ("batch", 4),
            ("workers", 1), ("plots", false), ("val", false), ("project", .string(project.path)), ("name", "ddp"),
        ]
        let rank0 = try run(yolo, ["train"] + settings.map { "\($0.0)=\($0.1)" }, log: "rank0.log", environment: [
            "RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)",
            "YOLO_DDP_TIMEOUT": "60", "OMP_NUM_THREADS": "1",
        ])
        let rank1 = try Trainer(try Config(Dictionary(uniqueKeysWithValues: settings)))
        rank1.distributed = DistributedEnvironment(rank: 1, worldSize: 2, masterPort: port, timeout: 60)
        var rank1Log: [String] = []
        rank1.log = { rank1Log.append($0) }
        let result = Result { try rank1.train() }
        let log = try finish(rank0, within: 120)
        XCTAssertEqual(rank0.process.terminationStatus, 0, log)
        XCTAssertNoThrow(try result.get())
        XCTAssertTrue(log.contains("DDP: rank 0 of 2 joined at 127.0.0.1:\(port); batch 4 = 2 x 2 per rank"), log)
        XCTAssertTrue(log.contains("DDP: the final weights are identical on all 2 ranks"), log)
        XCTAssertEqual(rank1Log, [], "rank 1 printed")
        // One run folder, rank 0's, with one row per epoch.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: project.path), ["ddp"])
        let folder = RunDirectory(url: project.appendingPathComponent("ddp"))
        XCTAssertEqual(try result.get().run.url.standardizedFileURL.path, folder.url.standardizedFileURL.path,
                       "rank 1's result names rank 0's folder")
        XCTAssertEqual(try ResultsCSV(url: folder.resultsCSV).read().rows.map { $0[0] }, [1])
        // The weights rank 0 saved are, bit for bit, the ones rank 1 ended with (both as the final checkpoint
        // stores them: float16).
        let saved = try DetectionModel.load(contentsOf: folder.lastWeights.path).stateDict()
        let mine = try XCTUnwrap(rank1.ema).model.stateDict()
        XCTAssertEqual(saved.map(\.0), mine.map(\.0))
        let differing = try zip(saved, mine).filter { try !$0.0.1.equal($0.1.1.to(.float16).to(.float32)) }.map(\.0.0)
        XCTAssertEqual(differing, [], "tensors that differ between the ranks")
    }

    /// `resume` relaunches the ranks of the run it resumes (its checkpoint's `device`); a rank never launches.
    func testResumeLaunchesTheResumedRunsDevices() throws {
        let path = directory.appendingPathComponent("last.pt").path
        let trainArgs = try Config(["device": "0,1", "epochs": 3]).entries
        try YOLO("yolov8n.yaml", nc: 2).model.save(
            to: path, extra: [("train_args", .dict(trainArgs.map { ($0.0, StoredValue($0.1)) }))])
        let resume = try Config.resolved(["resume": true, "model": .string(path)], mode: "train")
        XCTAssertEqual(try DDPLauncher.devicesToLaunch(resume, environment: [:]), ["0", "1"])
        XCTAssertNil(try DDPLauncher.devicesToLaunch(resume, environment: ["WORLD_SIZE": "2"]))
        XCTAssertEqual(try DDPLauncher.devicesToLaunch(Config.resolved(["device": "0,1"], mode: "train"), environment: [:]), ["0", "1"])
        XCTAssertNil(try DDPLauncher.devicesToLaunch(Config.resolved(["device": "0"], mode: "train"), environment: [:]))
    }

    func testLaunchingOnDevicesThatAreNotThereFailsClearly() throws {
        guard let yolo = KillResumeTests.yoloExecutable() else {
            throw XCTSkip("no yolo executable beside the test bundle; build it with `swift build --build-tests`")
        }
        guard Device.cudaCount < 2 else { throw XCTSkip("this machine has CUDA devices 0 and 1") }
        let launch = try run(yolo, ["train", "device=0,1", "epochs=1", "project=\(directory.path)/runs"], log: "launch.log",
                             environment: [:])
        let log = try finish(launch, within: 60)
        XCTAssertEqual(launch.process.terminationStatus, 2, log)
        XCTAssertTrue(log.contains("device=0,1 asks for CUDA device"), log)
        XCTAssertTrue(log.contains("YOLO_DDP_CPU=1"), log)
        // On the CPU, the launcher starts both ranks; a rank that fails fails the launch, naming it.
        let failing = try run(yolo, ["train", "device=0,1", "data=\(directory.path)/missing.yaml", "project=\(directory.path)/runs"],
                              log: "failing.log", environment: ["YOLO_DDP_CPU": "1", "YOLO_DDP_TIMEOUT": "20"])
        let failed = try finish(failing, within: 120)
        XCTAssertEqual(failing.process.terminationStatus, 1, failed)
        XCTAssertTrue(failed.contains("DDP: launching 2 ranks"), failed)
        XCTAssertTrue(failed.contains("missing.yaml"), "the rank's own error reaches the launcher's output:\n\(failed)")
        XCTAssertTrue(failed.range(of: #"DDP: rank [01] of 2 exited with status"#, options: .regularExpression) != nil, failed)
    }

    // MARK: Helpers

    struct Running {
        let process: Process
        let log: URL
    }

    func run(_ executable: URL, _ arguments: [String], log name: String, environment: [String: String]) throws -> Running {
        let log = directory.appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = directory
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return Running(process: process, log: log)
    }

    /// Waits for the process (killing it past `seconds`, so a hang fails instead of stalling CI) and returns its log.
    func finish(_ running: Running, within seconds: Double) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while running.process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if running.process.isRunning {
            running.process.terminate()
            Thread.sleep(forTimeInterval: 1)
            if running.process.isRunning { kill(running.process.processIdentifier, SIGKILL) }
            XCTFail("\(running.log.lastPathComponent): still running after \(seconds) s")
        }
        running.process.waitUntilExit()
        return (try? String(contentsOf: running.log, encoding: .utf8)) ?? ""
    }
}

struct Unchecked<T>: @unchecked Sendable { let value: T }

/// Per-rank results written from the ranks' threads.
final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [T?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: T) { lock.withLock { slots[index] = value } }
    var values: [T?] { lock.withLock { slots } }
}

final class LockedErrors: @unchecked Sendable {
    private let box: ResultBox<Error>
    init(count: Int) { box = ResultBox(count: count) }
    func set(_ index: Int, _ error: Error) { box.set(index, error) }
    var values: [Error?] { box.values }
}
