import Foundation
import Vision

/// How decoded images are kept between uses (the reference's `cache` argument).
public enum ImageCaching: Sendable, Equatable {
    /// Decode on use; training keeps a bounded set of recently used images for mosaics (the reference's buffer).
    case none
    /// Decode every image once, up front, and keep them all (`cache=ram`), when memory allows.
    case ram

    /// The reference's values: `True`/`"ram"` → ram; `False`/null → none. `"disk"` (its .npy files) is not
    /// supported and reads as none.
    public init(_ value: ConfigValue?) {
        switch value {
        case .bool(true)?, .string("ram")?, .string("True")?, .string("true")?: self = .ram
        default: self = .none
        }
    }
}

/// Loads dataset images resized so that the long side is `imgsz` (aspect ratio kept; the reference's `load_image`),
/// keeping them as `caching` says. Safe to use from several threads.
final class ImageStore: @unchecked Sendable {
    let files: [String]
    let imgsz: Int
    private(set) var caching: ImageCaching
    private let lock = NSLock()
    /// Every image, when caching is `.ram`.
    private var all: [LoadedImage?]
    /// Recently used images (least recently used evicted), when `capacity` > 0.
    private var recent: [Int: (image: LoadedImage, tick: UInt64)] = [:]
    private var tick: UInt64 = 0
    private let capacity: Int

    struct LoadedImage: @unchecked Sendable {
        let image: Image
        let original: ImageShape
    }

    init(files: [String], imgsz: Int, caching: ImageCaching, recentCapacity: Int, log: DataLog, prefix: String) {
        self.files = files
        self.imgsz = imgsz
        self.caching = caching
        self.capacity = caching == .ram ? 0 : recentCapacity
        all = []
        if caching == .ram { cacheAll(log: log, prefix: prefix) }
    }

    /// Image `index`, resized.
    func load(_ index: Int) throws -> LoadedImage {
        if caching == .ram, let image = lock.withLock({ all[index] }) { return image }
        if capacity > 0,
            let hit = lock.withLock({ () -> LoadedImage? in
                guard let entry = recent[index] else { return nil }
                tick += 1
                recent[index]?.tick = tick
                return entry.image
            })
        {
            return hit
        }
        let loaded = try decode(index)
        if capacity > 0 {
            lock.withLock {
                tick += 1
                recent[index] = (loaded, tick)
                if recent.count > capacity, let oldest = recent.min(by: { $0.value.tick < $1.value.tick })?.key {
                    recent[oldest] = nil
                }
            }
        }
        return loaded
    }

    /// Decodes and resizes without caching.
    func decode(_ index: Int) throws -> LoadedImage {
        let path = files[index]
        let image: Image
        do { image = try Image(contentsOf: path) } catch {
            throw DataError("image not found or unreadable: \(path) (\(error))")
        }
        let original = ImageShape(height: image.height, width: image.width)
        let r = Double(imgsz) / Double(max(original.height, original.width))
        guard r != 1 else { return LoadedImage(image: image, original: original) }
        let w = min(Int((Double(original.width) * r).rounded(.up)), imgsz)
        let h = min(Int((Double(original.height) * r).rounded(.up)), imgsz)
        return LoadedImage(image: try image.resized(width: max(w, 1), height: max(h, 1)), original: original)
    }

    /// `cache=ram`: estimates the memory from a few images, then decodes all in parallel, if it fits in half of
    /// what is available (the reference's check, with its 100% safety margin).
    private func cacheAll(log: DataLog, prefix: String) {
        let n = files.count
        let probe = Array(Set((0..<min(n, 30)).map { $0 * n / min(n, 30) }))
        var bytes = 0
        for i in probe { bytes += (try? decode(i)).map { $0.image.width * $0.image.height * $0.image.channels } ?? 0 }
        let required = Double(bytes) * Double(n) / Double(max(probe.count, 1)) * 2
        let available = ImageStore.availableMemory()
        if let available, required > Double(available) {
            log(
                "\(prefix)WARNING: \(String(format: "%.1f", required / 1e9))GB RAM required to cache images with 100% "
                    + "safety margin but only \(String(format: "%.1f", Double(available) / 1e9))GB available, not caching images"
            )
            caching = .none
            return
        }
        let slots = SlotArray<LoadedImage?>(count: n)
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var i = worker
            while i < n {
                slots[i] = .some(try? decode(i))
                i += workers
            }
        }
        all = slots.values
        let total = all.reduce(0) { $0 + ($1.map { $0.image.width * $0.image.height * $0.image.channels } ?? 0) }
        log("\(prefix)Caching images (\(String(format: "%.1f", Double(total) / 1e9))GB RAM)")
    }

    /// MemAvailable from /proc/meminfo (Linux), or nil where it cannot be read.
    static func availableMemory() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let number = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return number.map { $0 * 1024 }
        }
        return nil
    }
}
