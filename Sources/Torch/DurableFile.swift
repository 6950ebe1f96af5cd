import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one way this project writes a file a user would miss (checkpoints, results.csv, args.yaml, plots, caches,
/// exports): whole, to a hidden temporary name in the target's folder, flushed to disk, renamed over the target, and
/// the folder flushed too. After a crash, a kill or a power loss the path holds the old file or the new one, never
/// part of one; a failed write (a full disk, a file-size limit, an unwritable folder) removes its temporary file and
/// throws an error naming the target, leaving the old file as it was.
public enum DurableFile {
    public static func write(_ bytes: UnsafeRawBufferPointer, to url: URL) throws {
        try write(to: url) { fd in try writeAll(bytes, to: fd) }
    }

    public static func write(_ data: Data, to url: URL) throws {
        try data.withUnsafeBytes { try write($0, to: url) }
    }

    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try bytes.withUnsafeBytes { try write($0, to: url) }
    }

    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    /// A copy of `source` at `destination` (replacing it), written as above.
    public static func copy(_ source: URL, to destination: URL) throws {
        let input = open(source.path, O_RDONLY)
        guard input >= 0 else { throw FileWriteError(destination.path, "cannot read \(source.path): \(lastErrno())") }
        defer { close(input) }
        try write(to: destination) { fd in
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if n < 0 { throw Failure("reading \(source.path): \(lastErrno())") }
                if n == 0 { return }
                try chunk.withUnsafeBytes { try writeAll(UnsafeRawBufferPointer(rebasing: $0[0..<n]), to: fd) }
            }
        }
    }

    /// Runs `fill` on a new temporary file beside `url`, then makes it `url` durably.
    private static func write(to url: URL, _ fill: (Int32) throws -> Void) throws {
        let folder = url.deletingLastPathComponent()  // which must exist, as for torch.save and cv2.imwrite
        let temporary = folder.appendingPathComponent(temporaryName(for: url.lastPathComponent)).path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileWriteError(url.path, lastErrno()) }
        var failure: String?
        do {
            try fill(fd)
            if fsync(fd) != 0 { failure = lastErrno() }
        } catch {
            failure = (error as? Failure)?.reason ?? "\(error)"
        }
        if close(fd) != 0, failure == nil { failure = lastErrno() }
        if failure == nil, rename(temporary, url.path) != 0 { failure = lastErrno() }
        if let failure {
            unlink(temporary)
            throw FileWriteError(url.path, failure)
        }
        // The rename itself is durable only once the folder's entry is on disk.
        let dir = open(folder.path, O_RDONLY | O_CLOEXEC)
        if dir >= 0 {
            defer { close(dir) }
            guard fsync(dir) == 0 else { throw FileWriteError(url.path, "syncing its folder: \(lastErrno())") }
        }
    }

    /// The prefix of every temporary name: `.<name>.tmp-<pid>-<random>`, hidden and unique to a process and call.
    public static func temporaryName(for name: String) -> String {
        ".\(name).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
    }

    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(lastErrno()) }
            offset += n
        }
    }

    private struct Failure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    private static func lastErrno() -> String { String(cString: strerror(errno)) }
}

/// A file that could not be written, naming it and why ("No space left on device", "File too large", ...).
public struct FileWriteError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    public init(_ path: String, _ reason: String) { (self.path, self.reason) = (path, reason) }
    public var description: String { "cannot write \(path): \(reason)" }
}
