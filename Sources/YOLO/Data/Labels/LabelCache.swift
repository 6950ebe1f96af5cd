import Foundation
import Torch

/// The result of a label scan, saved beside the labels so the next run skips the scan: `labels/train` gets
/// `labels/train.swift-yolo.cache` (the reference's own `train.cache` is left alone; the formats differ).
///
/// The cache is valid while its `fingerprint` matches: a hash of every image and label path with its size and
/// modification time, and the scan settings. It is written to a temporary file and renamed into place, so a crash
/// never leaves half a cache; an unreadable or truncated cache is simply scanned again.
struct LabelCache: Sendable, Equatable {
    static let version: UInt32 = 1
    static let magic: [UInt8] = Array("SWIFTYOLO-LABELS".utf8)

    var fingerprint: UInt64
    var labels: [ImageLabel]
    var found = 0, missing = 0, empty = 0, corrupt = 0, total = 0
    var messages: [String] = []

    /// `labels/train` -> `labels/train.swift-yolo.cache`.
    static func path(forLabelFolder folder: String) -> String {
        let trimmed = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        return trimmed + ".swift-yolo.cache"
    }

    /// A hash of the files (path, size, modification time in ns) and of the scan settings.
    static func fingerprint(files: [String], settings: String) -> UInt64 {
        var hash = FNV1a()
        for path in files {
            hash.add(path)
            hash.add(0)
            var info = stat()
            if stat(path, &info) == 0 {
                hash.add("\(info.st_size):\(info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec)")
            }
            hash.add(0)
        }
        hash.add("\(version)|" + settings)
        return hash.value
    }

    // MARK: Reading and writing

    /// The cache at `path`, or nil when there is none or it cannot be read (wrong version, truncated, corrupt).
    static func load(_ path: String) -> LabelCache? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        var reader = CacheReader(bytes: [UInt8](data))
        return try? reader.readCache()
    }

    /// Writes durably (`DurableFile`). Returns why it could not, or nil.
    func save(to path: String) -> String? {
        var writer = CacheWriter()
        writer.write(self)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard access(folder, W_OK) == 0 else { return "cache directory \(folder) is not writable, cache not saved" }
        do {
            try DurableFile.write(writer.bytes, to: URL(fileURLWithPath: path))
        } catch {
            return "failed to save cache to \(path): \((error as? FileWriteError)?.reason ?? "\(error)")"
        }
        return nil
    }
}

/// 64-bit FNV-1a: enough to notice that a file list, a size or a time changed.
struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }
    mutating func add(_ text: String) { for byte in text.utf8 { add(byte) } }
}

private struct CacheWriter {
    var bytes: [UInt8] = []

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func write(_ value: Float) { write(value.bitPattern) }
    mutating func write(_ text: String) {
        write(UInt32(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    mutating func write(_ cache: LabelCache) {
        bytes.append(contentsOf: LabelCache.magic)
        write(LabelCache.version)
        write(cache.fingerprint)
        for count in [cache.found, cache.missing, cache.empty, cache.corrupt, cache.total] { write(Int64(count)) }
        write(UInt32(cache.messages.count))
        for message in cache.messages { write(message) }
        write(UInt32(cache.labels.count))
        for label in cache.labels {
            write(label.imageFile)
            write(Int32(label.shape.height))
            write(Int32(label.shape.width))
            write(UInt32(label.count))
            for (cls, box) in zip(label.classes, label.boxes) {
                write(Int32(cls))
                for i in 0..<4 { write(box[i]) }
            }
            write(UInt32(label.segments.count))
            for segment in label.segments {
                write(UInt32(segment.count))
                for point in segment {
                    write(point.x)
                    write(point.y)
                }
            }
            if let keypoints = label.keypoints {
                write(UInt8(1))
                write(UInt32(keypoints.first?.count ?? 0))
                for object in keypoints {
                    for point in object { for i in 0..<3 { write(point[i]) } }
                }
            } else {
                write(UInt8(0))
            }
        }
    }
}

private struct CacheReader {
    let bytes: [UInt8]
    var offset = 0

    struct Truncated: Error {}

    mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { throw Truncated() }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[offset..<offset + size]) }
        offset += size
        return T(littleEndian: value)
    }
    mutating func readFloat() throws -> Float { Float(bitPattern: try read(UInt32.self)) }
    mutating func readString() throws -> String {
        let count = Int(try read(UInt32.self))
        guard offset + count <= bytes.count else { throw Truncated() }
        defer { offset += count }
        return String(decoding: bytes[offset..<offset + count], as: UTF8.self)
    }
    /// A count that cannot exceed what the remaining bytes could hold (so a corrupt count cannot allocate wildly).
    mutating func readCount(bytesEach: Int) throws -> Int {
        let count = Int(try read(UInt32.self))
        guard count * max(bytesEach, 1) <= bytes.count - offset else { throw Truncated() }
        return count
    }

    mutating func readCache() throws -> LabelCache {
        guard bytes.count >= LabelCache.magic.count, Array(bytes[0..<LabelCache.magic.count]) == LabelCache.magic
        else { throw Truncated() }
        offset = LabelCache.magic.count
        guard try read(UInt32.self) == LabelCache.version else { throw Truncated() }
        var cache = LabelCache(fingerprint: try read(UInt64.self), labels: [])
        cache.found = Int(try read(Int64.self))
        cache.missing = Int(try read(Int64.self))
        cache.empty = Int(try read(Int64.self))
        cache.corrupt = Int(try read(Int64.self))
        cache.total = Int(try read(Int64.self))
        cache.messages = try (0..<readCount(bytesEach: 4)).map { _ in try readString() }
        let labelCount = try readCount(bytesEach: 16)
        cache.labels.reserveCapacity(labelCount)
        for _ in 0..<labelCount {
            let file = try readString()
            let shape = ImageShape(height: Int(try read(Int32.self)), width: Int(try read(Int32.self)))
            var label = ImageLabel(imageFile: file, shape: shape)
            let objects = try readCount(bytesEach: 20)
            for _ in 0..<objects {
                label.classes.append(Int(try read(Int32.self)))
                label.boxes.append(SIMD4(try readFloat(), try readFloat(), try readFloat(), try readFloat()))
            }
            let segmentCount = try readCount(bytesEach: 4)
            for _ in 0..<segmentCount {
                let points = try readCount(bytesEach: 8)
                label.segments.append(try (0..<points).map { _ in SIMD2(try readFloat(), try readFloat()) })
            }
            if try read(UInt8.self) == 1 {
                let perObject = try readCount(bytesEach: 0)
                label.keypoints = try (0..<objects).map { _ in
                    try (0..<perObject).map { _ in SIMD3(try readFloat(), try readFloat(), try readFloat()) }
                }
            }
            cache.labels.append(label)
        }
        guard offset == bytes.count else { throw Truncated() }
        return cache
    }
}
