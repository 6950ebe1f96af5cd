import Foundation
import Torch
import XCTest

final class SerializationTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("torch-serialization-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func sampleTensors() throws -> [(String, Tensor)] {
        [
            ("model.0.conv.weight", try Tensor.randn([4, 3, 3, 3])),
            ("model.0.bn.num_batches_tracked", try Tensor.scalar(17, dtype: .int64)),
            ("half", try Tensor.randn([5]).to(.float16)),
            ("bf16", try Tensor.randn([2, 2]).to(.bfloat16)),
            ("mask", try Tensor.randn([6]).gt(0)),
            ("bytes", try Tensor([0, 128, 255] as [UInt8])),
            ("non_contiguous", try Tensor.randn([3, 4]).transpose(0, 1)),
        ]
    }

    func testNamedTensorsAndMetadataRoundTripExactly() throws {
        let tensors = try sampleTensors()
        let file = path("state.pt")
        try Serialization.save(tensors: tensors, metadata: ["epoch": "3", "names": "person,car"], to: file)
        let (loaded, metadata) = try Serialization.loadTensors(from: file)
        XCTAssertEqual(loaded.map(\.0), tensors.map(\.0), "names and order")
        for ((name, a), (_, b)) in zip(tensors, loaded) {
            XCTAssertEqual(a.dtype, b.dtype, name)
            XCTAssertEqual(a.shape, b.shape, name)
            XCTAssertTrue(try a.equal(b), name)
        }
        XCTAssertEqual(metadata, ["epoch": "3", "names": "person,car"])
        XCTAssertFalse(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).contains { $0.contains("partial") },
            "the temporary file must be renamed away")
    }

    func testNestedValuesRoundTrip() throws {
        let value = StoredValue.dict([
            ("epoch", .int(12)), ("fitness", .double(0.625)), ("best", .bool(true)), ("note", .none),
            ("lr", .list([.double(0.01), .double(0.001)])), ("date", .string("2026-11-29")),
            ("model", .dict([("w", .tensor(try Tensor([1, 2] as [Float])))])),
        ])
        let file = path("nested.pt")
        try Serialization.save(value, to: file)
        let loaded = try Serialization.load(from: file)
        XCTAssertEqual(loaded["epoch"]?.int, 12)
        XCTAssertEqual(loaded["fitness"]?.double, 0.625)
        XCTAssertEqual(loaded["date"]?.string, "2026-11-29")
        if case .bool(true)? = loaded["best"] {} else { XCTFail("best") }
        if case .none? = loaded["note"] {} else { XCTFail("note") }
        if case .list(let lrs)? = loaded["lr"] { XCTAssertEqual(lrs.compactMap(\.double), [0.01, 0.001]) } else { XCTFail("lr") }
        XCTAssertEqual(try loaded["model"]?["w"]?.tensor?.toArray(Float.self), [1, 2])
    }

    func testSavingOverAnExistingFileReplacesItWhole() throws {
        let file = path("replace.pt")
        try Serialization.save(tensors: [("a", try Tensor.zeros([1000]))], to: file)
        try Serialization.save(tensors: [("b", try Tensor.ones([2]))], to: file)
        XCTAssertEqual(try Serialization.loadTensors(from: file).tensors.map(\.0), ["b"])
    }

    func testMissingCorruptAndTruncatedFilesThrowNamingTheFile() throws {
        let missing = expectTorchError { _ = try Serialization.load(from: self.path("absent.pt")) }
        XCTAssertTrue(missing?.message.contains("absent.pt") ?? false)

        let garbage = path("garbage.pt")
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }).write(to: URL(fileURLWithPath: garbage))
        let corrupt = expectTorchError { _ = try Serialization.load(from: garbage) }
        XCTAssertTrue(corrupt?.message.contains("garbage.pt") ?? false, corrupt?.message ?? "")

        let good = path("good.pt"), truncated = path("truncated.pt")
        try Serialization.save(tensors: try sampleTensors(), to: good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        XCTAssertNotNil(expectTorchError { _ = try Serialization.load(from: truncated) })

        XCTAssertThrowsError(try Serialization.save(tensors: [], to: self.path("no/such/folder/x.pt"))) {
            XCTAssertTrue(($0 as? FileWriteError)?.path.hasSuffix("no/such/folder/x.pt") ?? false, "\($0)")
        }
    }

    /// The file opens in plain PyTorch (`torch.load`), and a file `torch.save` wrote opens here, when a Python with
    /// torch is on this machine (CI installs one).
    func testPythonTorchLoadsTheFile() throws {
        let python = "/usr/bin/python3"
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import torch"]
        probe.standardError = FileHandle.nullDevice
        guard FileManager.default.fileExists(atPath: python), (try? probe.run()) != nil else {
            throw XCTSkip("no \(python)")
        }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("python3 has no torch module (apt install python3-torch)") }

        let file = path("for-python.pt")
        let weight = try Tensor([1.5, -2, 3.25, 4] as [Float], shape: [2, 2])
        try Serialization.save(
            tensors: [("model.0.conv.weight", weight), ("steps", try Tensor.scalar(5, dtype: .int64))],
            metadata: ["task": "detect"], to: file)
        let script = """
            import sys, torch
            d = torch.load(sys.argv[1])
            assert isinstance(d, dict), type(d)
            w = d["tensors"]["model.0.conv.weight"]
            assert w.dtype == torch.float32 and list(w.shape) == [2, 2], w
            assert w.flatten().tolist() == [1.5, -2.0, 3.25, 4.0], w
            assert int(d["tensors"]["steps"]) == 5
            assert d["metadata"] == {"task": "detect"}, d["metadata"]
            # libtorch's own unpickler lacks SETITEM (a one-entry dict); the project's pickle reader is separate work.
            torch.save({"from_python": torch.arange(3), "scale": 0.5}, sys.argv[2])
            print("ok")
            """
        let back = path("from-python.pt")
        let run = Process()
        run.executableURL = URL(fileURLWithPath: python)
        run.arguments = ["-c", script, file, back]
        let pipe = Pipe()
        run.standardOutput = pipe
        run.standardError = pipe
        try run.run()
        run.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(run.terminationStatus, 0, output)
        XCTAssertEqual(try Serialization.load(from: back)["from_python"]?.tensor?.toArray(Int.self), [0, 1, 2])
    }
}
