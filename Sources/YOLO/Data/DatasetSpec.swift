import Foundation

/// A dataset YAML as the reference reads it (`check_det_dataset`):
///
///     path: coco8            # root; a relative path resolves against the YAML's folder
///     train: images/train    # a folder, a .txt list of image paths, or a list of those
///     val: images/val
///     test:                  # optional
///     names: {0: person, 1: bicycle}   # a list or an index -> name map; or only `nc: 2`
///     kpt_shape: [17, 3]     # pose: keypoints per object and values per keypoint
///     flip_idx: [0, 2, 1]    # pose: keypoint order after a left-right flip
///
/// Split paths are resolved here and checked when a split is asked for (`imageFiles(split:)`).
public struct DatasetSpec: Sendable {
    /// The YAML file this came from (or a description of the source).
    public let source: String
    /// The dataset root, absolute.
    public let root: String
    /// Resolved absolute paths of each split present ("train", "val", "test", "minival").
    public let splits: [String: [String]]
    /// Class names, indexed by class id.
    public let names: [String]
    public var nc: Int { names.count }
    /// Pose datasets: (keypoints per object, values per keypoint: 2 for x y, 3 for x y visibility).
    public let keypointShape: (count: Int, dims: Int)?
    /// Pose datasets: the keypoint order after a horizontal flip.
    public let flipIndex: [Int]?
    /// Pose: `kpt_oks_sigmas`, the OKS sigma of each keypoint for the loss and the metrics (default: COCO's for
    /// [17, 3], else 1/K each).
    public let keypointSigmas: [Float]?
    /// Image channels (the reference's `channels`, 3 unless the YAML says otherwise).
    public let channels: Int
    /// Warnings produced while reading the YAML (e.g. a `validation` key renamed to `val`).
    public let warnings: [String]

    /// Reads and checks a dataset YAML.
    public init(contentsOf path: String) throws {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DataError("dataset YAML not found: \(path)")
        }
        let text: String
        do { text = try String(contentsOfFile: url.path, encoding: .utf8) } catch {
            throw DataError("\(url.path): cannot read the dataset YAML: \(error.localizedDescription)")
        }
        let tree: ConfigValue
        do { tree = try ConfigValue(yaml: text) } catch {
            throw DataError("\(url.path) is not valid YAML: \(error)")
        }
        try self.init(tree: tree, source: url.path, folder: url.deletingLastPathComponent().path)
    }

    /// Builds from a parsed tree; relative paths resolve against `folder`.
    public init(tree: ConfigValue, source: String, folder: String) throws {
        func fail(_ what: String) -> DataError { DataError("\(source): \(what)") }
        guard case .dict(var entries) = tree else { throw fail("a dataset YAML must be a mapping of keys to values") }
        func value(_ key: String) -> ConfigValue? {
            entries.first { $0.0 == .string(key) }.map(\.1).flatMap { $0 == .null ? nil : $0 }
        }
        var warnings: [String] = []

        // Types of the keys the reference checks (DATASET_KEY_TYPES).
        let kinds: [(String, String, (ConfigValue) -> Bool)] = [
            ("path", "a string", { $0.string != nil }),
            ("train", "a string or a list", { $0.string != nil || $0.list != nil }),
            ("val", "a string or a list", { $0.string != nil || $0.list != nil }),
            ("test", "a string or a list", { $0.string != nil || $0.list != nil }),
            ("names", "a list or a mapping", { $0.list != nil || $0.dict != nil }),
            ("kpt_shape", "a list", { $0.list != nil }),
            ("flip_idx", "a list", { $0.list != nil }),
            ("kpt_oks_sigmas", "a list", { $0.list != nil }),
        ]
        for (key, kind, accepts) in kinds {
            if let v = value(key), !accepts(v) { throw fail("'\(key)' must be \(kind), not '\(v)'") }
        }
        for key in ["train", "val"] where value(key) == nil {
            if key == "val", let validation = value("validation") {
                warnings.append("\(source): renaming data YAML 'validation' key to 'val' to match YOLO format.")
                entries.append((.string("val"), validation))
                continue
            }
            throw fail("'\(key):' key missing; 'train' and 'val' are required in all data YAMLs")
        }

        // Class names: a list, a map, or `nc` alone.
        var nc: Int?
        if let raw = value("nc") {
            guard let n = raw.int ?? raw.string.flatMap({ Double($0) }).flatMap({ $0 == $0.rounded() ? Int($0) : nil })
            else { throw fail("'nc: \(raw)' must be an integer") }
            nc = n
        }
        var names: [String]
        if let rawNames = value("names") {
            names = try DatasetSpec.classNames(rawNames, fail: fail)
            if let nc, nc != names.count {
                throw fail("'names' length \(names.count) and 'nc: \(nc)' must match")
            }
        } else if let nc {
            names = (0..<nc).map { "class_\($0)" }
        } else {
            throw fail("key missing: either 'names' or 'nc' is required in all data YAMLs")
        }
        if names.isEmpty { throw fail("0-class dataset: at least one class name is required") }

        // Root and split paths.
        let rootText = value("path")?.string ?? ""
        let root = DatasetSpec.resolve(rootText.isEmpty ? "." : rootText, against: folder)
        var splits: [String: [String]] = [:]
        for key in ["train", "val", "test", "minival"] {
            guard let v = value(key) else { continue }
            if let single = v.string {
                if single.isEmpty { continue }
                var path = DatasetSpec.resolve(single, against: root)
                if !FileManager.default.fileExists(atPath: path), single.hasPrefix("../") {
                    path = DatasetSpec.resolve(String(single.dropFirst(3)), against: root)
                }
                splits[key] = [path]
            } else if let list = v.list {
                splits[key] = try list.map { item in
                    guard let s = item.string else { throw fail("'\(key)' entries must be paths, got '\(item)'") }
                    return DatasetSpec.resolve(s, against: root)
                }
            }
        }

        // Pose.
        var keypointShape: (Int, Int)?
        if let shape = value("kpt_shape")?.list {
            guard shape.count == 2, let count = shape[0].int, let dims = shape[1].int, count > 0, [2, 3].contains(dims)
            else {
                throw fail(
                    "'kpt_shape' must be [number of keypoints, 2 or 3] (2 for x y, 3 for x y visible), e.g. [17, 3]")
            }
            keypointShape = (count, dims)
        }
        var flipIndex: [Int]?
        if let flip = value("flip_idx")?.list {
            let indices = flip.compactMap(\.int)
            guard indices.count == flip.count else { throw fail("'flip_idx' must be a list of integers") }
            if let (count, _) = keypointShape, !indices.isEmpty, indices.count != count {
                throw fail("flip_idx has \(indices.count) entries, but kpt_shape has \(count) keypoints")
            }
            flipIndex = indices
        }

        self.source = source
        self.root = root
        self.splits = splits
        self.names = names
        self.keypointShape = keypointShape
        self.flipIndex = flipIndex
        if let sigmas = value("kpt_oks_sigmas")?.list {
            let values = sigmas.compactMap(\.double).map(Float.init)
            let count = keypointShape?.0 ?? values.count
            guard values.count == sigmas.count, values.count == count, values.allSatisfy({ $0 > 0 }) else {
                throw fail("'kpt_oks_sigmas' must be \(count) positive values (one per keypoint), got \(sigmas)")
            }
            keypointSigmas = values
        } else {
            keypointSigmas = nil
        }
        self.channels = value("channels")?.int ?? 3
        self.warnings = warnings
    }

    /// The image files of a split, sorted, as the reference lists them. Throws when the split is not in the YAML,
    /// when one of its paths does not exist, or when it holds no image.
    public func imageFiles(split: String) throws -> [String] {
        guard let paths = splits[split] else {
            throw DataError("\(source): no '\(split):' split in the dataset YAML")
        }
        do {
            return try ImageFiles.list(paths)
        } catch let error as DataError {
            throw DataError("\(source) '\(split)': \(error.message)")
        }
    }

    /// Names as the reference's `check_class_names` reads them: a list, or a map whose keys are 0..<n.
    static func classNames(_ raw: ConfigValue, fail: (String) -> DataError) throws -> [String] {
        if let list = raw.list { return list.map(\.description) }
        guard let map = raw.dict else { throw fail("'names' must be a list or a mapping") }
        var byIndex: [Int: String] = [:]
        for (key, name) in map {
            guard let index = key.int ?? key.string.flatMap({ Int($0) }), index >= 0 else {
                throw fail("'names' keys must be class indices, got '\(key)'")
            }
            byIndex[index] = name.description
        }
        let n = byIndex.count
        if let top = byIndex.keys.max(), top >= n {
            throw fail(
                "\(n)-class dataset requires class indices 0-\(n - 1), but you have invalid class indices "
                    + "\(byIndex.keys.min()!)-\(top) defined in your dataset YAML")
        }
        return (0..<n).map { byIndex[$0]! }
    }

    /// `path` made absolute against `base` and normalised (`..` and `.` removed).
    static func resolve(_ path: String, against base: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        let url =
            expanded.hasPrefix("/")
            ? URL(fileURLWithPath: expanded) : URL(fileURLWithPath: base).appendingPathComponent(expanded)
        return url.standardizedFileURL.path
    }
}

extension DatasetSpec {
    /// A dataset YAML with this dataset's classes and pose keys over other images: `path` as the root, `train` and
    /// `val` relative to it. For copies of a dataset (benchmarks, tests) that must not write into the original.
    public func yaml(path: String, train: String, val: String) -> String {
        func list<T>(_ values: [T]) -> String { "[" + values.map { "\($0)" }.joined(separator: ", ") + "]" }
        var text = "path: \(path)\ntrain: \(train)\nval: \(val)\n"
        if let shape = keypointShape { text += "kpt_shape: \(list([shape.count, shape.dims]))\n" }
        if let flipIndex { text += "flip_idx: \(list(flipIndex))\n" }
        if let keypointSigmas { text += "kpt_oks_sigmas: \(list(keypointSigmas))\n" }
        // JSON strings are YAML's double-quoted scalars: a name with a colon or a quote stays one name.
        let quoted = names.map { String(decoding: try! JSONEncoder().encode($0), as: UTF8.self) }
        return text + "names:\n" + quoted.enumerated().map { "  \($0.offset): \($0.element)\n" }.joined()
    }
}
