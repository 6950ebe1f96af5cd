import Foundation
import XCTest

@testable import YOLO

/// TensorBoard event files: CRC-32C, TFRecord framing, the events, and TensorBoard's own reader on our file.
final class TensorBoardTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tensorboard-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testCRC32CKnownVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        // RFC 3720 (iSCSI), appendix B.4.
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum(Array(UInt8(0)...UInt8(31))), 0x46DD_794E)
        XCTAssertEqual(CRC32C.masked(Array("123456789".utf8)), 0xC78A_B0E5)  // tensorboard.compat's masked_crc32c
        let crc: UInt32 = 0xE306_9283
        XCTAssertEqual(CRC32C.masked(Array("123456789".utf8)), ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
    }

    func testRecordLayoutAndRoundTrip() throws {
        let payload = Data("hello, tensorboard".utf8)
        let record = [UInt8](TFRecord.frame(payload))
        XCTAssertEqual(record.count, 8 + 4 + payload.count + 4)
        XCTAssertEqual(Array(record[0..<8]), [UInt8(payload.count), 0, 0, 0, 0, 0, 0, 0])
        func uint32(_ bytes: ArraySlice<UInt8>) -> UInt32 { bytes.reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        XCTAssertEqual(uint32(record[8..<12]), CRC32C.masked(record[0..<8]))
        XCTAssertEqual(Data(record[12..<12 + payload.count]), payload)
        XCTAssertEqual(uint32(record[(12 + payload.count)...]), CRC32C.masked(payload))
        let two = TFRecord.frame(payload) + TFRecord.frame(Data())
        XCTAssertEqual(try TFRecord.records(in: two), [payload, Data()])
    }

    func testCorruptedBytesAreDetectedAndATruncatedTailIsSkipped() throws {
        let good = TFRecord.frame(Data("first".utf8)) + TFRecord.frame(Data("second".utf8))
        for index in [0, 9, 14, good.count - 1] {  // length, length CRC, data, data CRC
            var bad = good
            bad[index] ^= 0x40
            XCTAssertThrowsError(try TFRecord.records(in: bad), "byte \(index)")
        }
        // A crash in the middle of the second record leaves the first one readable.
        let cut = good.prefix(good.count - 5)
        XCTAssertEqual(try TFRecord.records(in: Data(cut)), [Data("first".utf8)])
    }

    func testWriterFileNameEventsAndScalars() throws {
        let writer = try TensorBoardWriter(folder: folder, now: Date(timeIntervalSince1970: 1_700_000_000))
        try writer.add(["train/box_loss": 1.25, "lr/pg0": 0.0033], step: 1)
        try writer.add([("metrics/mAP50(B)", 0.5), ("val/dfl_loss", 2.0)], step: 1)
        try writer.add(["train/box_loss": 1.0], step: 2)
        let name = writer.url.lastPathComponent
        XCTAssertTrue(name.hasPrefix("events.out.tfevents.1700000000."), name)
        XCTAssertTrue(name.hasSuffix(".\(ProcessInfo.processInfo.processIdentifier).0"), name)
        let second = try TensorBoardWriter(folder: folder, now: Date(timeIntervalSince1970: 1_700_000_000))
        XCTAssertEqual(second.url.lastPathComponent, String(name.dropLast()) + "1", "a second writer never truncates the first")

        let events = try TensorBoardEvents(contentsOf: writer.url)
        XCTAssertEqual(events.fileVersion, "brain.Event:2")
        XCTAssertEqual(events.scalars.map(\.tag), ["train/box_loss", "lr/pg0", "metrics/mAP50(B)", "val/dfl_loss", "train/box_loss"])
        XCTAssertEqual(events.scalars.map(\.step), [1, 1, 1, 1, 2])
        XCTAssertEqual(events.values("train/box_loss"), [1: 1.25, 2: 1.0])
        XCTAssertEqual(events.values("lr/pg0")[1], Float(0.0033))
        XCTAssertGreaterThan(events.scalars[0].wallTime, 1_700_000_000)
    }

    /// TensorBoard's own `EventAccumulator` reads the file, including one whose last record a crash cut short.
    func testTensorBoardReadsOurFile() throws {
        let python = try TensorBoardTests.tensorBoardPython()
        let writer = try TensorBoardWriter(folder: folder)
        for epoch in 1...3 {
            try writer.add([("train/box_loss", 2.0 / Double(epoch)), ("metrics/mAP50-95(B)", 0.1 * Double(epoch))], step: epoch)
        }
        let handle = try FileHandle(forWritingTo: writer.url)
        try handle.seekToEnd()
        try handle.write(contentsOf: TFRecord.frame(Data(repeating: 7, count: 40)).prefix(30))  // a cut record
        try handle.close()

        let scalars = try TensorBoardTests.readWithTensorBoard(folder, python: python)
        XCTAssertEqual(Set(scalars.keys), ["train/box_loss", "metrics/mAP50-95(B)"])
        XCTAssertEqual(scalars["train/box_loss"]?.map { $0[0] }, [1, 2, 3])
        for (got, want) in zip(scalars["train/box_loss"] ?? [], [2.0, 1.0, 2.0 / 3]) { XCTAssertEqual(got[1], want, accuracy: 1e-6) }
        for (got, want) in zip(scalars["metrics/mAP50-95(B)"] ?? [], [0.1, 0.2, 0.3]) { XCTAssertEqual(got[1], want, accuracy: 1e-6) }
    }

    /// Every scalar tag of the event files in `folder` with its [step, value] pairs, as TensorBoard's
    /// `EventAccumulator` reads them.
    static func readWithTensorBoard(_ folder: URL, python: String) throws -> [String: [[Double]]] {
        let script = """
            import json, sys
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
            acc = EventAccumulator(sys.argv[1]); acc.Reload()
            print(json.dumps({t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, folder.path]
        let out = Pipe(), err = Pipe()
        (process.standardOutput, process.standardError) = (out, err)
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, errors)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [[Double]]], errors)
    }

    /// $TENSORBOARD_PYTHON, else `.venv-onnx/bin/python` (`.ci/run` installs tensorboard there), when it can import
    /// tensorboard; skips otherwise, and fails under CI.
    static func tensorBoardPython(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let candidates: [String?] = [environment["TENSORBOARD_PYTHON"], Fixtures.packageRoot.appendingPathComponent(".venv-onnx/bin/python").path]
        for python in candidates.compactMap({ $0 }) where FileManager.default.isExecutableFile(atPath: python) {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: python)
            probe.arguments = ["-c", "import tensorboard"]
            (probe.standardOutput, probe.standardError) = (FileHandle.nullDevice, FileHandle.nullDevice)
            try probe.run()
            probe.waitUntilExit()
            if probe.terminationStatus == 0 { return python }
        }
        let message = "no Python with tensorboard: set TENSORBOARD_PYTHON or pip install tensorboard into .venv-onnx"
        if environment["CI"] == "true" { XCTFail(message + " (required under CI)", file: file, line: line) }
        throw XCTSkip(message)
    }
}
