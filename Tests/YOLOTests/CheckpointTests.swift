import Foundation
import Torch
import XCTest
import ZIPFoundation

@testable import YOLO

/// Reading the reference's `.pt` checkpoints: the fixture's state dict, names and yaml against the manifest,
/// clear errors for broken files, and a random-mutation fuzz test.
final class CheckpointTests: XCTestCase {
    static let trained = "reference/yolov8n-coco8/yolov8n-trained.pt"

    func testStateDictNamesShapesDTypesAndOrderEqualTheManifest() throws {
        let checkpoint = try ReferenceCheckpoint.load(contentsOf: try Fixtures.shared(Self.trained))
        let expected = try Fixtures.expected("state_dict", as: [[Any]].self)
        XCTAssertEqual(checkpoint.source, "model")  // a finished run keeps no EMA
        XCTAssertEqual(checkpoint.stateDict.count, 355)
        XCTAssertEqual(checkpoint.stateDict.map(\.0), expected.map { $0[0] as? String })
        for ((name, tensor), row) in zip(checkpoint.stateDict, expected) {
            XCTAssertEqual(tensor.shape, row[1] as? [Int], name)
            XCTAssertEqual("\(tensor.dtype)", row[2] as? String, name)
        }
        XCTAssertEqual(checkpoint.stateDict.first?.0, "model.0.conv.weight")
        XCTAssertEqual(checkpoint.stateDict.last?.0, "model.22.dfl.conv.weight")
    }

    func testParameterCountEqualsTheManifest() throws {
        let checkpoint = try ReferenceCheckpoint.load(contentsOf: try Fixtures.shared(Self.trained))
        let parameters = checkpoint.stateDict.filter { !checkpoint.bufferNames.contains($0.0) }.map(\.1.numel)
        XCTAssertEqual(parameters.reduce(0, +), 3_157_200)
        XCTAssertEqual(parameters.reduce(0, +), try Fixtures.expected("parameters", as: Int.self))
        XCTAssertTrue(checkpoint.bufferNames.contains("model.0.bn.running_mean"))
        XCTAssertTrue(checkpoint.bufferNames.contains("model.0.bn.num_batches_tracked"))
        XCTAssertFalse(checkpoint.bufferNames.contains("model.0.bn.weight"))
    }

    func testNamesYamlAndMetadata() throws {
        let checkpoint = try ReferenceCheckpoint.load(contentsOf: try Fixtures.shared(Self.trained))
        XCTAssertEqual(checkpoint.names.count, 80)
        XCTAssertEqual(checkpoint.names[0], "person")
        XCTAssertEqual(checkpoint.names[79], "toothbrush")
        let yaml = try XCTUnwrap(checkpoint.yaml)
        XCTAssertEqual(yaml["nc"]?.int, 80)
        XCTAssertEqual(yaml["scale"]?.string, "n")
        XCTAssertEqual(yaml["backbone"]?.list?.count, 10)
        let firstLayer = ConfigValue.list([.int(-1), .int(1), .string("Conv"), .list([.int(64), .int(3), .int(2)])])
        XCTAssertEqual(yaml["backbone"]?.list?.first, firstLayer)
        XCTAssertEqual(checkpoint.metadata["version"], .string("8.4.190"))
        XCTAssertEqual(checkpoint.metadata["epoch"], .int(-1))
        XCTAssertEqual(checkpoint.metadata["train_args"]?["task"], .string("detect"))
        XCTAssertNil(checkpoint.metadata["model"])
    }

    /// The tensors hold exactly the bytes of their storages.
    func testTensorBytesEqualTheStorageMembers() throws {
        let path = try Fixtures.shared(Self.trained)
        let checkpoint = try ReferenceCheckpoint.load(contentsOf: path)
        let archive = try TorchArchive(path: path)
        let weight = try XCTUnwrap(checkpoint.stateDict.first?.1)
        XCTAssertEqual(try weight.bytes(), [UInt8](try archive.storage(key: "0", byteCount: 864)))
    }

    func testSecondFixtureAndInMemoryDataLoad() throws {
        let path = try Fixtures.shared("reference/yolov8n-coco8-overfit/best.pt")
        let checkpoint = try ReferenceCheckpoint.load(contentsOf: path)
        XCTAssertEqual(checkpoint.stateDict.count, 355)
        XCTAssertFalse(checkpoint.names.isEmpty)
        XCTAssertNotNil(checkpoint.yaml)
        let fromData = try ReferenceCheckpoint.load(data: Data(contentsOf: URL(fileURLWithPath: path)), name: "best.pt")
        XCTAssertEqual(fromData.stateDict.map(\.0), checkpoint.stateDict.map(\.0))
        for ((name, a), (_, b)) in zip(fromData.stateDict, checkpoint.stateDict) { XCTAssertTrue(try a.equal(b), name) }
    }

    /// A plain `{name: tensor}` dict written by libtorch's own pickler loads too.
    func testPlainStateDictWrittenByLibtorchLoads() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plain-\(UUID().uuidString).pt")
        defer { try? FileManager.default.removeItem(at: url) }
        let weight = try Tensor([Float](arrayLiteral: 1, 2, 3, 4, 5, 6), shape: [2, 3])
        try Serialization.save(.dict([("model", .dict([("layer.weight", .tensor(weight))])), ("epoch", .int(3))]),
                               to: url.path)
        let checkpoint = try ReferenceCheckpoint.load(contentsOf: url.path)
        XCTAssertEqual(checkpoint.source, "model")
        XCTAssertEqual(checkpoint.stateDict.map(\.0), ["layer.weight"])
        XCTAssertTrue(try XCTUnwrap(checkpoint.stateDict.first?.1).equal(weight))
        XCTAssertEqual(checkpoint.metadata["epoch"], .int(3))
    }

    // MARK: Errors

    func testMissingFileRandomBytesAndTruncatedFileThrowClearErrors() throws {
        assertError(try ReferenceCheckpoint.load(contentsOf: "/nonexistent/model.pt"),
                    "/nonexistent/model.pt: no such file")
        var rng = SplitMixRandom(seed: 1)
        let random = Data((0 ..< 4096).map { _ in UInt8.random(in: 0 ... 255, using: &rng) })
        assertError(try ReferenceCheckpoint.load(data: random, name: "random.pt"), "random.pt is not a zip archive: ")
        let file = try Data(contentsOf: URL(fileURLWithPath: Fixtures.shared(Self.trained)))
        assertError(try ReferenceCheckpoint.load(data: file.prefix(file.count / 2), name: "half.pt"),
                    "half.pt is not a zip archive: no end-of-central-directory record")
    }

    func testZipWithoutPickleOrWithGarbagePickleOrCompressedPickle() throws {
        let other = try zipArchive(["notes/readme.txt": Data("hello".utf8)])
        assertError(try ReferenceCheckpoint.load(data: other, name: "other.zip"), "other.zip: no data.pkl member")
        var rng = SplitMixRandom(seed: 2)
        let garbage = Data((0 ..< 512).map { _ in UInt8.random(in: 0 ... 255, using: &rng) })
        assertError(try ReferenceCheckpoint.load(data: try zipArchive(["ckpt/data.pkl": garbage]), name: "garbage.pt"),
                    "garbage.pt: pickle")
        let compressed = try zipArchive(["ckpt/data.pkl": Data(repeating: 0x4E, count: 1000)], compressed: true)
        assertError(try ReferenceCheckpoint.load(data: compressed, name: "deflated.pt"),
                    "deflated.pt: member ckpt/data.pkl is compressed")
    }

    func testMissingStorageMemberNamesTheTensorAndMember() throws {
        var members = try fixtureMembers()
        members["yolov8n-trained/data/0"] = nil
        assertError(try ReferenceCheckpoint.load(data: try zipArchive(members), name: "nostorage.pt"),
                    "nostorage.pt: model.0.conv.weight: missing member yolov8n-trained/data/0")
    }

    func testCheckpointWithoutModelAndUnsupportedOpcode() throws {
        var p = PickleWriter()
        p.op(0x7D); p.string("epoch"); p.int(1); p.op(0x73); p.stop()
        assertError(try ReferenceCheckpoint.load(pickle: p.bytes, name: "nomodel.pt") { _, _ in Data() },
                    "nomodel.pt: no model in the checkpoint")
        assertError(try ReferenceCheckpoint.load(pickle: [0x80, 2, 0x82, 1, 0x2E], name: "ext.pt") { _, _ in Data() },
                    "ext.pt: pickle: unsupported opcode 0x82 (EXT1) at offset 2")
    }

    /// A ZIP64 directory offset beyond 2^63 would trap inside ZIPFoundation; it is refused first.
    func testHugeZip64OffsetIsRefusedNotTrapped() throws {
        var file = try Data(contentsOf: URL(fileURLWithPath: Fixtures.shared(Self.trained)))
        let record = try XCTUnwrap(file.lastRange(of: Data([0x50, 0x4B, 0x06, 0x06]))).lowerBound
        file.replaceSubrange(record + 48 ..< record + 56, with: [UInt8](repeating: 0xFF, count: 8))
        assertError(try ReferenceCheckpoint.load(data: file, name: "zip64.pt"),
                    "zip64.pt is not a zip archive: its central directory offset")
    }

    // MARK: Fuzz

    /// Random mutations of the fixture, as pickles (fed with the real storages) and as whole zip files: each must
    /// load or throw a `CheckpointError`; a crash fails the run. FUZZ_ITERATIONS sets the number of pickles (a
    /// fortieth as many whole files follow), FUZZ_SEED changes the inputs. Two workers share the inputs, each
    /// with its own seeded generator, so that a debug build gets through 2,000 pickles in about a minute.
    func testFuzzMutatedCheckpointsLoadOrThrowButNeverCrash() throws {
        let path = try Fixtures.shared(Self.trained)
        let environment = ProcessInfo.processInfo.environment
        let iterations = environment["FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 2000
        let seed = environment["FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED
        let archive = try TorchArchive(path: path)
        let pickle = try archive.pickle()
        // Read every storage once (loading the fixture asks for each), then share them read-only.
        var recorded: [String: Data] = [:]
        _ = try ReferenceCheckpoint.load(pickle: pickle, name: "fixture") { key, count in
            let data = try archive.storage(key: key, byteCount: count)
            recorded[key] = data
            return data
        }
        let storages = recorded
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let workers = 2
        let tally = FuzzTally(workers: workers)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var rng = SplitMixRandom(seed: seed &+ UInt64(worker))
            var pickles = FuzzOutcome(), zips = FuzzOutcome()
            for _ in 0 ..< share(of: iterations, worker, workers) {
                let input = Mutation.apply(to: pickle, using: &rng)
                pickles.record {
                    try ReferenceCheckpoint.load(pickle: input, name: "fuzz.pt") { key, count in
                        guard let data = storages[key], data.count == count else {
                            throw CheckpointError("no storage \(key) of \(count) bytes")
                        }
                        return data
                    }
                }
            }
            // Whole files cost a full read each, so fewer of them; bit flips in storages are caught by the CRC-32.
            for _ in 0 ..< share(of: max(1, iterations / 40), worker, workers) {
                let input = Mutation.apply(to: file, using: &rng, focusOnLast: 64 * 1024)
                zips.record { try ReferenceCheckpoint.load(data: Data(input), name: "fuzz.pt") }
            }
            tally.set(worker, pickles, zips)
        }
        let (pickles, zips) = tally.sums
        print("fuzz: \(pickles.total) pickles (\(pickles.loaded) loaded, \(pickles.threw) threw), "
            + "\(zips.total) zip files (\(zips.loaded) loaded, \(zips.threw) threw), "
            + "\(pickles.unexpected + zips.unexpected) other errors")
        XCTAssertEqual(pickles.total + zips.total, iterations + max(1, iterations / 40))
        XCTAssertEqual(pickles.unexpected + zips.unexpected, 0)
        if iterations >= 100 {
            XCTAssertGreaterThan(pickles.threw, 0)
            XCTAssertGreaterThan(pickles.loaded, 0)
        }
    }

    // MARK: Helpers

    private func assertError<T>(
        _ body: @autoclosure () throws -> T, _ prefix: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue(error is CheckpointError, "\(type(of: error)): \(error)", file: file, line: line)
            XCTAssertTrue("\(error)".hasPrefix(prefix), "\(error)", file: file, line: line)
        }
    }

    /// An in-memory zip of `members`, stored (or deflated).
    private func zipArchive(_ members: [String: Data], compressed: Bool = false) throws -> Data {
        let archive = try Archive(data: Data(), accessMode: .create)
        for (path, data) in members.sorted(by: { $0.key < $1.key }) {
            try archive.addEntry(
                with: path, type: .file, uncompressedSize: Int64(data.count),
                compressionMethod: compressed ? .deflate : .none
            ) { position, size in data.subdata(in: Int(position) ..< Int(position) + size) }
        }
        return try XCTUnwrap(archive.data)
    }

    private func fixtureMembers() throws -> [String: Data] {
        let archive = try Archive(url: URL(fileURLWithPath: Fixtures.shared(Self.trained)), accessMode: .read)
        var members: [String: Data] = [:]
        for entry in archive {
            var data = Data()
            _ = try archive.extract(entry) { data.append($0) }
            members[entry.path] = data
        }
        return members
    }
}

/// Counts what the fuzzed inputs did: loaded, threw a `CheckpointError`, or threw anything else (a failure).
struct FuzzOutcome {
    var loaded = 0, threw = 0, unexpected = 0
    var total: Int { loaded + threw + unexpected }

    mutating func record<T>(_ body: () throws -> T) {
        do {
            _ = try body()
            loaded += 1
        } catch is CheckpointError {
            threw += 1
        } catch {
            unexpected += 1
            print("fuzz: not a CheckpointError: \(type(of: error)): \(error)")
        }
    }

    static func + (a: FuzzOutcome, b: FuzzOutcome) -> FuzzOutcome {
        FuzzOutcome(loaded: a.loaded + b.loaded, threw: a.threw + b.threw, unexpected: a.unexpected + b.unexpected)
    }
}

/// The workers' outcomes, each written once by its worker.
final class FuzzTally: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [(FuzzOutcome, FuzzOutcome)]

    init(workers: Int) { outcomes = Array(repeating: (FuzzOutcome(), FuzzOutcome()), count: workers) }

    func set(_ worker: Int, _ pickles: FuzzOutcome, _ zips: FuzzOutcome) {
        lock.withLock { outcomes[worker] = (pickles, zips) }
    }

    var sums: (FuzzOutcome, FuzzOutcome) {
        lock.withLock { outcomes.reduce((FuzzOutcome(), FuzzOutcome())) { ($0.0 + $1.0, $0.1 + $1.1) } }
    }
}

/// Worker `worker`'s part of `total` items split among `workers`.
func share(of total: Int, _ worker: Int, _ workers: Int) -> Int {
    total / workers + (worker < total % workers ? 1 : 0)
}

/// Byte-level mutations: bit flips, special values, truncation, deleted and duplicated ranges.
enum Mutation {
    /// Boundary values and opcodes (MARK, STOP, BINPERSID, REDUCE, BINUNICODE, BUILD, BINGET, BINPUT, TUPLE, NEWOBJ).
    static let special: [UInt8] = [
        0x00, 0x01, 0x7F, 0x80, 0xFF, 0x28, 0x2E, 0x51, 0x52, 0x58, 0x62, 0x68, 0x71, 0x74, 0x81,
    ]

    /// `focusOnLast`: half the time, mutate only within the last that many bytes (a zip's directory).
    static func apply(to bytes: [UInt8], using rng: inout SplitMixRandom, focusOnLast: Int? = nil) -> [UInt8] {
        var b = bytes
        var start = 0
        if let focus = focusOnLast, Bool.random(using: &rng) { start = max(0, b.count - focus) }
        func position() -> Int { Int.random(in: start ..< b.count, using: &rng) }
        switch Int.random(in: 0 ..< 6, using: &rng) {
        case 0:
            for _ in 0 ..< Int.random(in: 1 ... 8, using: &rng) {
                b[position()] ^= 1 << UInt8.random(in: 0 ... 7, using: &rng)
            }
        case 1:
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) { b[position()] = special.randomElement(using: &rng)! }
        case 2:
            b.removeSubrange(position()...)
        case 3:
            let from = position()
            b.removeSubrange(from ..< min(b.count, from + Int.random(in: 1 ... 64, using: &rng)))
        case 4:
            let from = position()
            let range = from ..< min(b.count, from + Int.random(in: 1 ... 256, using: &rng))
            b.insert(contentsOf: b[range], at: position())
        default:
            let at = Int.random(in: start ..< max(start + 1, b.count - 4), using: &rng)
            let word: [UInt8] = [[0xFF, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0x7F], [0, 0, 0, 0x80], [0x10, 0, 0, 0]]
                .randomElement(using: &rng)!
            for (i, byte) in word.enumerated() where at + i < b.count { b[at + i] = byte }
        }
        return b
    }
}
