import Foundation
import SwiftProtobuf

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TensorBoard event file, as torch's `SummaryWriter` writes it for the reference: `events.out.tfevents.<seconds>.
/// <host>.<pid>.0` in the run folder, a file-version event first, then one event per scalar. Records are only ever
/// appended and each batch of scalars is flushed to disk, so a crash can cut at most the record being written, which
/// readers skip; the earlier ones stay intact.
///
///     let board = try TensorBoardWriter(folder: run.url)
///     try board.add(["train/box_loss": 1.2, "lr/pg0": 0.01], step: 1)   // `tensorboard --logdir runs`
public final class TensorBoardWriter {
    public let url: URL
    private let handle: FileHandle

    public init(folder: URL, now: Date = Date()) throws {
        var host = [CChar](repeating: 0, count: 256)
        let hostName = gethostname(&host, host.count) == 0 ? String(cString: host) : "localhost"
        let stem = String(format: "events.out.tfevents.%010d.", Int(now.timeIntervalSince1970))
            + "\(hostName).\(ProcessInfo.processInfo.processIdentifier)."
        // The last number tells apart writers of one process in one second (torch counts them the same way).
        var uid = 0
        while FileManager.default.fileExists(atPath: folder.appendingPathComponent(stem + "\(uid)").path) { uid += 1 }
        url = folder.appendingPathComponent(stem + "\(uid)")
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: url.path) else {
            throw ReportError("cannot create \(url.path)")
        }
        self.handle = handle
        var version = TensorBoardEvent()
        version.wallTime = now.timeIntervalSince1970
        version.fileVersion = "brain.Event:2"
        try write([version])
    }

    deinit { try? handle.close() }

    /// One scalar event per value at `step`, in the order given, then a flush to disk.
    public func add(_ scalars: KeyValuePairs<String, Double>, step: Int) throws {
        try add(scalars.map { ($0.key, $0.value) }, step: step)
    }

    public func add(_ scalars: [(String, Double)], step: Int) throws {
        let now = Date().timeIntervalSince1970
        try write(scalars.map { tag, value in
            var summaryValue = TensorBoardSummary.Value()
            summaryValue.tag = tag
            summaryValue.simpleValue = Float(value)
            var event = TensorBoardEvent()
            event.wallTime = now
            event.step = Int64(step)
            event.summary.value = [summaryValue]
            return event
        })
    }

    private func write(_ events: [TensorBoardEvent]) throws {
        var data = Data()
        for event in events { data.append(TFRecord.frame(try event.serializedData())) }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
        try handle.synchronize()
    }
}

/// What an event file holds, read back (for tests and for users who want the numbers without TensorBoard).
public struct TensorBoardEvents {
    public struct Scalar: Equatable, Sendable {
        public let tag: String
        public let step: Int
        public let value: Float
        public let wallTime: Double
    }

    /// The `file_version` of the first event ("brain.Event:2").
    public let fileVersion: String?
    public let scalars: [Scalar]

    /// Parses `url`, checking both CRCs of every record (see `TFRecord.records`).
    public init(contentsOf url: URL) throws {
        let events = try TFRecord.records(in: Data(contentsOf: url)).map { try TensorBoardEvent(serializedBytes: $0) }
        fileVersion = events.first.flatMap { event in
            if case .fileVersion(let version)? = event.what { return version }
            return nil
        }
        scalars = events.flatMap { event -> [Scalar] in
            guard case .summary(let summary)? = event.what else { return [] }
            return summary.value.compactMap { value in
                guard case .simpleValue(let v)? = value.value else { return nil }
                return Scalar(tag: value.tag, step: Int(event.step), value: v, wallTime: event.wallTime)
            }
        }
    }

    /// The values of `tag` by step.
    public func values(_ tag: String) -> [Int: Float] {
        Dictionary(scalars.filter { $0.tag == tag }.map { ($0.step, $0.value) }, uniquingKeysWith: { $1 })
    }
}
