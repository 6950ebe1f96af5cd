import Foundation
import ZIPFoundation

/// A PyTorch checkpoint's zip archive: `<prefix>/data.pkl` (the pickled object) and `<prefix>/data/<key>` (one
/// member per tensor storage, raw little-endian bytes). Members are read only when asked for.
final class TorchArchive {
    /// The file's name, for error messages.
    let name: String
    /// The folder holding `data.pkl`, with its trailing slash ("" when it is at the top).
    let prefix: String
    private let archive: Archive
    private let members: [String: Entry]
    private let length: Int
    /// In-memory archives are read from a temporary copy (see `init(data:name:)`); removed in `deinit`.
    private let temporaryCopy: URL?

    convenience init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError(file: path, "no such file")
        }
        guard !isDirectory.boolValue else { throw CheckpointError(file: path, "is a directory, not a checkpoint") }
        try self.init(url: URL(fileURLWithPath: path), name: path, temporaryCopy: nil)
    }

    /// ZIPFoundation's in-memory archives trap when a corrupt offset points past the end of the data, where a
    /// file simply reads nothing; so the bytes are written to a temporary file and read from there.
    convenience init(data: Data, name: String) throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("swift-yolo-checkpoint-\(UUID().uuidString).pt")
        do {
            try data.write(to: url)
        } catch {
            throw CheckpointError(file: name, "cannot write a temporary copy to read it: \(error)")
        }
        do {
            try self.init(url: url, name: name, temporaryCopy: url)
        } catch {
            try? FileManager.default.removeItem(at: url)
            throw error
        }
    }

    private init(url: URL, name: String, temporaryCopy: URL?) throws {
        self.name = name
        self.temporaryCopy = temporaryCopy
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw CheckpointError(file: name, "cannot be opened: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        do {
            length = Int(try handle.seekToEnd())
            try ZipPreflight.check(length: length) { offset, count in
                try handle.seek(toOffset: UInt64(offset))
                return [UInt8](try handle.read(upToCount: count) ?? Data())
            }
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw CheckpointError("\(name) is not a zip archive: \(error)")
        }
        var members: [String: Entry] = [:]
        for entry in archive where members[entry.path] == nil { members[entry.path] = entry }
        self.members = members
        // torch.save names the folder after the file; take the shallowest data.pkl.
        let pickles = members.keys.filter { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }
        guard let pickle = pickles.min(by: { ($0.count, $0) < ($1.count, $1) }) else {
            throw CheckpointError(file: name, "no data.pkl member: not a PyTorch checkpoint (\(members.count) members)")
        }
        prefix = String(pickle.dropLast("data.pkl".count))
    }

    deinit {
        if let temporaryCopy { try? FileManager.default.removeItem(at: temporaryCopy) }
    }

    /// The bytes of `data.pkl`.
    func pickle() throws -> [UInt8] {
        [UInt8](try read(member: prefix + "data.pkl", expecting: nil))
    }

    /// The bytes of storage `key`, which must hold exactly `byteCount` bytes.
    func storage(key: String, byteCount: Int) throws -> Data {
        try read(member: prefix + "data/" + key, expecting: byteCount)
    }

    private func read(member path: String, expecting expected: Int?) throws -> Data {
        guard let entry = members[path] else { throw CheckpointFailure("missing member \(path)") }
        guard entry.type == .file else { throw CheckpointFailure("member \(path) is not a file") }
        // PyTorch stores members uncompressed. ZIPFoundation's inflater spins forever on a truncated deflate
        // stream, so compressed members are refused rather than risked.
        guard !entry.isCompressed else {
            throw CheckpointFailure("member \(path) is compressed; PyTorch checkpoints store members uncompressed")
        }
        let size = entry.uncompressedSize
        guard size <= UInt64(length) else {
            throw CheckpointFailure("member \(path) claims \(size) bytes, more than the whole file (\(length))")
        }
        if let expected, size != UInt64(expected) {
            throw CheckpointFailure("member \(path) holds \(size) bytes where \(expected) are expected")
        }
        var data = Data()
        data.reserveCapacity(Int(size))
        let checksum: CRC32
        do {
            checksum = try archive.extract(entry, skipCRC32: false) { chunk in
                // An empty chunk before the end means the file ended early; ZIPFoundation would keep asking.
                guard !chunk.isEmpty || size == 0, UInt64(data.count + chunk.count) <= size else {
                    throw CheckpointFailure("member \(path) is truncated")
                }
                data.append(chunk)
            }
        } catch let failure as CheckpointFailure {
            throw failure
        } catch {
            throw CheckpointFailure("member \(path) cannot be read: \(error)")
        }
        guard UInt64(data.count) == size else { throw CheckpointFailure("member \(path) is truncated") }
        guard checksum == entry.checksum else { throw CheckpointFailure("member \(path) is corrupt (CRC-32 mismatch)") }
        return data
    }
}
