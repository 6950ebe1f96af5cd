import Foundation
import Vision

/// Writes a shapes dataset in the YOLO layout: `images/{train,val}/NNNNNN.jpg`, `labels/{train,val}/NNNNNN.txt`
/// (one `class cx cy w h` line per shape, normalized), and `data.yaml`. Images are independent (each has its own
/// seeded generator), so they are made in parallel and still come out the same.
enum ShapesWriter {
    enum Split: String, CaseIterable {
        case train, val

        /// Keeps the two splits' random streams apart.
        var stream: UInt64 { self == .train ? 1 : 2 }
    }

    /// Writes everything into `folder`; `finalPath` is where the folder will live (the `path` of data.yaml).
    static func write(spec: ShapesSpec, to folder: URL, finalPath: URL, progress: Bool) throws {
        let fm = FileManager.default
        for split in Split.allCases {
            for kind in ["images", "labels"] {
                try fm.createDirectory(
                    at: folder.appendingPathComponent(kind).appendingPathComponent(split.rawValue),
                    withIntermediateDirectories: true)
            }
        }
        let jobs = Split.allCases.flatMap { split in
            (0 ..< (split == .train ? spec.trainImages : spec.valImages)).map { (split, $0) }
        }
        let bar = progress
            ? ProgressBar(total: jobs.count, description: "shapes: generating \(finalPath.path)", unit: "img")
            : nil
        let failure = FirstError()
        DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
            guard !failure.isSet else { return }
            do { try writeImage(spec: spec, split: jobs[i].0, index: jobs[i].1, folder: folder) } catch {
                failure.record(error)
            }
            bar?.update()
        }
        bar?.close()
        if let error = failure.error { throw error }
        try dataYAML(spec: spec, path: finalPath)
            .write(to: folder.appendingPathComponent("data.yaml"), atomically: false, encoding: .utf8)
    }

    /// One image and its label file.
    static func writeImage(spec: ShapesSpec, split: Split, index: Int, folder: URL) throws {
        let scene = try scene(spec: spec, split: split, index: index)
        let stem = String(format: "%06d", index)
        let image = folder.appendingPathComponent("images/\(split.rawValue)/\(stem).\(spec.format)")
        try scene.image.write(to: image.path, quality: spec.format == "jpg" ? 90 : nil)
        let size = spec.imageSize
        let lines = scene.shapes.map { shape in
            func normalized(_ p: Point) -> [String] {  // inside the image
                [min(max(p.x / Double(size), 0), 1), min(max(p.y / Double(size), 0), 1)].map { String(format: "%.6f", $0) }
            }
            if spec.labels == .polygons {
                return "\(shape.kind.rawValue) " + shape.outline().flatMap(normalized).joined(separator: " ") + "\n"
            }
            let b = shape.box.normalized(width: size, height: size)
            let box = String(format: "%d %.6f %.6f %.6f %.6f", shape.kind.rawValue, b.cx, b.cy, b.w, b.h)
            guard spec.labels == .keypoints else { return box + "\n" }
            // Leftmost, topmost, rightmost, bottommost point of the outline, each visible (2).
            let outline = shape.outline()
            let extremes = [
                outline.min { $0.x < $1.x }!, outline.min { $0.y < $1.y }!, outline.max { $0.x < $1.x }!,
                outline.max { $0.y < $1.y }!,
            ]
            return box + " " + extremes.flatMap { normalized($0) + ["2"] }.joined(separator: " ") + "\n"
        }
        try lines.joined().write(
            to: folder.appendingPathComponent("labels/\(split.rawValue)/\(stem).txt"), atomically: false,
            encoding: .utf8)
    }

    /// The scene of one image: a function of the spec, the split and the index only.
    static func scene(spec: ShapesSpec, split: Split, index: Int) throws -> ShapeScene {
        var rng = SplitMixRandom(seed: spec.seed, stream: split.stream, index: index)
        return try ShapeScene.generate(size: spec.imageSize, rng: &rng)
    }

    static func dataYAML(spec: ShapesSpec, path: URL) -> String {
        var text = """
            # swift-yolo's built-in dataset: shapes on textured backgrounds, generator \
            v\(BuiltInDataset.generatorVersion), seed \(spec.seed), \(spec.trainImages) train and \
            \(spec.valImages) val images of \(spec.imageSize) px.
            path: \(ArgsYAML.scalar(.string(path.path)))
            train: images/train
            val: images/val
            nc: \(ShapeKind.allCases.count)

            """
        if spec.labels == .keypoints {  // a left-right flip swaps the leftmost and rightmost points
            text += "kpt_shape: [4, 3]\nflip_idx: [2, 1, 0, 3]\n"
        }
        text += "names:\n"
        for kind in ShapeKind.allCases { text += "  \(kind.rawValue): \(kind.name)\n" }
        return text
    }
}

/// The first error of a parallel loop.
private final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?

    var isSet: Bool { lock.withLock { stored != nil } }
    var error: Error? { lock.withLock { stored } }

    func record(_ error: Error) { lock.withLock { if stored == nil { stored = error } } }
}
