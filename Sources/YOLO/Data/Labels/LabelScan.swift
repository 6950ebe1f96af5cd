import Foundation

/// The checked labels of a split: every image verified and its label file read, in parallel, or the cache of a
/// previous scan when nothing changed. Prints the reference's summary line,
/// `train: Scanning .../labels/train... 4 images, 0 backgrounds, 0 corrupt`, and its warnings.
public struct LabelScan: Sendable {
    public struct Options: Sendable {
        /// Prepended to every line ("train: ", "val: ").
        public var prefix = ""
        /// Read and write the cache file beside the labels.
        public var useCache = true
        /// Every class becomes 0.
        public var singleClass = false
        /// Read pose keypoints (the pose task); otherwise pose rows are cut to their box.
        public var readsKeypoints = false
        /// A training split needs labels: one without any label file is an error rather than a warning.
        public var requireLabels = true
        /// Parallel checks (default: the machine's cores).
        public var threads = ProcessInfo.processInfo.activeProcessorCount
        public var log: DataLog = DataLogging.standardError

        public init() {}
    }

    /// Usable images with their labels, in image path order.
    public let labels: [ImageLabel]
    /// Label files found, missing, empty; images corrupt (skipped); images scanned.
    public let found: Int, missing: Int, empty: Int, corrupt: Int, total: Int
    /// Warnings and reasons for skipped images, one a line.
    public let messages: [String]
    /// Where the cache is (whether or not it could be written).
    public let cachePath: String
    /// Whether this came from the cache rather than a scan.
    public let fromCache: Bool

    /// The reference's summary: label files found, backgrounds (missing or empty label files), corrupt images.
    public var summary: String { "\(found) images, \(missing + empty) backgrounds, \(corrupt) corrupt" }

    /// Scans `imageFiles` (their label files by the `/images/` → `/labels/` rule).
    public init(imageFiles: [String], spec: DatasetSpec, options: Options = Options()) throws {
        guard let first = imageFiles.first else { throw DataError("\(options.prefix)no images to scan") }
        let labelFiles = imageFiles.map(ImageFiles.labelPath(forImage:))
        let labelFolder = URL(fileURLWithPath: labelFiles[0]).deletingLastPathComponent().path
        cachePath = LabelCache.path(forLabelFolder: labelFolder)
        let parser = LabelParser(
            classCount: spec.nc, keypointShape: spec.keypointShape, readsKeypoints: options.readsKeypoints,
            singleClass: options.singleClass, prefix: options.prefix)
        let settings =
            "\(options.readsKeypoints)|\(spec.nc)|\(spec.keypointShape.map { "\($0)" } ?? "")|\(options.singleClass)"
        let fingerprint = LabelCache.fingerprint(files: labelFiles + imageFiles, settings: settings)
        let log = options.log

        var cache: LabelCache
        if options.useCache, let cached = LabelCache.load(cachePath), cached.fingerprint == fingerprint {
            cache = cached
            fromCache = true
            log("\(options.prefix)Scanning \(cachePath)... \(LabelScan.summary(cache)) (cached)")
            if !cache.messages.isEmpty { log(cache.messages.joined(separator: "\n")) }
        } else {
            fromCache = false
            let display = "\(options.prefix)Scanning \(labelFolder)..."
            let checks = LabelScan.checkAll(
                images: imageFiles, labels: labelFiles, parser: parser, threads: options.threads, display: display)
            cache = LabelCache(fingerprint: fingerprint, labels: checks.compactMap(\.label), total: imageFiles.count)
            for check in checks {
                cache.found += check.found
                cache.missing += check.missing
                cache.empty += check.empty
                cache.corrupt += check.corrupt
                if !check.message.isEmpty { cache.messages.append(check.message) }
            }
            log("\(display) \(LabelScan.summary(cache))")
            if !cache.messages.isEmpty { log(cache.messages.joined(separator: "\n")) }
            if cache.found == 0, !cache.labels.isEmpty {
                let why =
                    "\(options.prefix)No labels found in \(labelFolder) (label files are expected at "
                    + "\(labelFiles[0]) and alike, the last /images/ of each image path replaced by /labels/)"
                if options.requireLabels { throw DataError(why) }
                log("WARNING: " + why)
            }
            if options.useCache, !cache.labels.isEmpty {
                if let problem = cache.save(to: cachePath) {
                    log("\(options.prefix)WARNING: \(problem)")
                } else {
                    log("\(options.prefix)New cache created: \(cachePath)")
                }
            }
        }

        guard !cache.labels.isEmpty else {
            let issues = Set(cache.messages).sorted().joined(separator: "\n  ")
            throw DataError(
                "\(options.prefix)No valid images found in \(labelFolder) (first image \(first)).\n  "
                    + (issues.isEmpty ? "no error details" : issues))
        }
        var labels = cache.labels
        LabelScan.checkConsistency(&labels, folder: labelFolder, log: log)
        self.labels = labels
        (found, missing, empty, corrupt, total) = (cache.found, cache.missing, cache.empty, cache.corrupt, cache.total)
        messages = cache.messages
    }

    static func summary(_ cache: LabelCache) -> String {
        "\(cache.found) images, \(cache.missing + cache.empty) backgrounds, \(cache.corrupt) corrupt"
    }

    /// A dataset is all boxes or all polygons: when both occur, polygons are dropped (the reference's warning).
    static func checkConsistency(_ labels: inout [ImageLabel], folder: String, log: DataLog) {
        let boxes = labels.reduce(0) { $0 + $1.boxes.count }
        let segments = labels.reduce(0) { $0 + $1.segments.count }
        if segments > 0, boxes != segments {
            log(
                "WARNING: Box and segment counts should be equal, but got len(segments) = \(segments), "
                    + "len(boxes) = \(boxes). To resolve this only boxes will be used and all segments will be removed."
            )
            for i in labels.indices { labels[i].segments = [] }
        }
        if boxes == 0 { log("WARNING: Labels are missing or empty in \(folder), training may not work correctly.") }
    }

    /// Checks every image in parallel, results in input order, with a progress line on a terminal.
    static func checkAll(images: [String], labels: [String], parser: LabelParser, threads: Int, display: String)
        -> [LabelCheck]
    {
        let results = SlotArray<LabelCheck>(count: images.count)
        let progress = ScanProgress(total: images.count, display: display)
        let workers = max(1, min(threads, images.count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var i = worker
            while i < images.count {
                results[i] = parser.check(image: images[i], labelFile: labels[i])
                progress.advance()
                i += workers
            }
        }
        progress.finish()
        return results.values
    }
}

/// Fixed slots written from several threads, each slot by one thread only.
final class SlotArray<T>: @unchecked Sendable {
    private var storage: [T?]
    private let lock = NSLock()

    init(count: Int) { storage = Array(repeating: nil, count: count) }

    subscript(index: Int) -> T? {
        get { lock.withLock { storage[index] } }
        set { lock.withLock { storage[index] = newValue } }
    }

    var values: [T] { lock.withLock { storage.map { $0! } } }
}

/// A `\r`-updated progress line on standard error when it is a terminal; nothing otherwise.
final class ScanProgress: @unchecked Sendable {
    private let total: Int
    private let display: String
    private let lock = NSLock()
    private var done = 0
    private var lastPrint = Date.distantPast
    private let enabled = isatty(2) != 0

    init(total: Int, display: String) {
        self.total = total
        self.display = display
    }

    func advance() {
        guard enabled else { return }
        lock.withLock {
            done += 1
            let now = Date()
            if now.timeIntervalSince(lastPrint) > 0.1 || done == total {
                lastPrint = now
                FileHandle.standardError.write(Data("\r\(display) \(done)/\(total)".utf8))
            }
        }
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
