import Foundation
import Vision
import XCTest

@testable import YOLO

/// The built-in shapes dataset: deterministic, tight labels, the YOLO layout, and a cache that is only ever used
/// when complete. Small images and counts keep it fast.
final class BuiltInDatasetTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("shapes-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    private func make(seed: UInt64 = 7, train: Int = 6, val: Int = 3, size: Int = 96, format: String = "png",
                      in folder: String = "a") throws -> URL
    {
        try BuiltInDataset.shapes(
            seed: seed, trainImages: train, valImages: val, imageSize: size,
            root: root.appendingPathComponent(folder), format: format, progress: false)
    }

    /// Every file of a dataset folder by relative path (data.yaml without its `path` line, which names the folder).
    private func contents(of yaml: URL) throws -> [String: Data] {
        let folder = yaml.deletingLastPathComponent()
        var files: [String: Data] = [:]
        for kind in ["images", "labels"] {
            for split in ["train", "val"] {
                let dir = folder.appendingPathComponent("\(kind)/\(split)")
                for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
                    files["\(kind)/\(split)/\(name)"] = try Data(contentsOf: dir.appendingPathComponent(name))
                }
            }
        }
        let yamlText = try String(contentsOf: yaml, encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("path:") }.joined(separator: "\n")
        files["data.yaml"] = Data(yamlText.utf8)
        return files
    }

    func testSplitMixRandomMatchesSplitMix64() {
        var rng = SplitMixRandom(seed: 0)
        XCTAssertEqual([rng.next(), rng.next(), rng.next()],
                       [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        var a = SplitMixRandom(seed: 1, stream: 1, index: 5), b = SplitMixRandom(seed: 1, stream: 1, index: 5)
        var c = SplitMixRandom(seed: 1, stream: 2, index: 5)
        let x = a.next()
        XCTAssertEqual(x, b.next())
        XCTAssertNotEqual(x, c.next())
        for _ in 0 ..< 1000 {
            let i = a.int(3 ... 5)
            XCTAssert((3 ... 5).contains(i))
            let u = a.unit()
            XCTAssert(u >= 0 && u < 1)
        }
    }

    func testSameSeedGivesIdenticalFilesAndAnotherSeedDifferentOnes() throws {
        let first = try contents(of: make(seed: 7, format: "jpg", in: "a"))
        let again = try contents(of: make(seed: 7, format: "jpg", in: "b"))
        let other = try contents(of: make(seed: 8, format: "jpg", in: "c"))
        XCTAssertEqual(first.count, 2 * (6 + 3) + 1)
        XCTAssertEqual(Set(first.keys), Set(again.keys))
        for (name, data) in first { XCTAssertEqual(data, again[name], "\(name) differs between two runs of seed 7") }
        let labelNames = first.keys.filter { $0.hasPrefix("labels/") }
        XCTAssert(labelNames.contains { first[$0] != other[$0] }, "seed 8 gave the same labels as seed 7")
        let imageNames = first.keys.filter { $0.hasPrefix("images/") }
        XCTAssert(imageNames.allSatisfy { first[$0] != other[$0] }, "seed 8 repeated an image of seed 7")
    }

    func testLayoutCountsClassesAndDataYAML() throws {
        let yaml = try make(train: 10, val: 4, size: 128)
        let folder = yaml.deletingLastPathComponent()
        let fm = FileManager.default
        for (split, count) in [("train", 10), ("val", 4)] {
            let images = try fm.contentsOfDirectory(atPath: folder.appendingPathComponent("images/\(split)").path)
            let labels = try fm.contentsOfDirectory(atPath: folder.appendingPathComponent("labels/\(split)").path)
            XCTAssertEqual(images.count, count)
            XCTAssertEqual(Set(images.map { ($0 as NSString).deletingPathExtension }),
                           Set(labels.map { ($0 as NSString).deletingPathExtension }))
            XCTAssert(images.allSatisfy { $0.hasSuffix(".png") })
            for name in images {
                let image = try Image(contentsOf: folder.appendingPathComponent("images/\(split)/\(name)").path)
                XCTAssertEqual([image.width, image.height, image.channels], [128, 128, 3])
            }
        }

        var seenClasses = Set<Int>()
        var instances = 0
        for split in ["train", "val"] {
            let dir = folder.appendingPathComponent("labels/\(split)")
            for name in try fm.contentsOfDirectory(atPath: dir.path) {
                let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let fields = line.split(separator: " ")
                    XCTAssertEqual(fields.count, 5, "\(name): '\(line)'")
                    let cls = try XCTUnwrap(Int(fields[0]))
                    XCTAssert((0 ..< BuiltInDataset.classNames.count).contains(cls))
                    seenClasses.insert(cls)
                    let v = fields.dropFirst().compactMap { Double($0) }
                    XCTAssertEqual(v.count, 4)
                    XCTAssert(v.allSatisfy { $0 > 0 && $0 <= 1 }, "\(name): '\(line)'")
                    XCTAssert(v[0] - v[2] / 2 >= -1e-6 && v[0] + v[2] / 2 <= 1 + 1e-6, "box leaves the image")
                    XCTAssert(v[1] - v[3] / 2 >= -1e-6 && v[1] + v[3] / 2 <= 1 + 1e-6, "box leaves the image")
                    instances += 1
                }
            }
        }
        XCTAssertGreaterThan(instances, 14, "too few shapes for 14 images")
        XCTAssertGreaterThanOrEqual(seenClasses.count, 5, "14 images should show nearly every class")

        let tree = try ConfigValue(yaml: String(contentsOf: yaml, encoding: .utf8))
        XCTAssertEqual(tree["path"]?.string, folder.path)
        XCTAssertEqual(tree["train"]?.string, "images/train")
        XCTAssertEqual(tree["val"]?.string, "images/val")
        XCTAssertEqual(tree["nc"]?.int, 6)
        let names = try XCTUnwrap(tree["names"]?.dict)
        XCTAssertEqual(names.map { $0.0.int }, Array(0 ..< 6))
        XCTAssertEqual(names.map { $0.1.string }, BuiltInDataset.classNames)
        XCTAssertEqual(BuiltInDataset.classNames, ["circle", "square", "triangle", "star", "cross", "ellipse"])
    }

    /// Each label is the bounding box of exactly the pixels its shape covers: checked by drawing every shape of a
    /// scene alone, and on the written image, where a shape that nothing covers shows its colour on all four
    /// edges of its box and nowhere just outside it.
    func testLabelBoxesTightlyBoundTheirShapes() throws {
        let size = 96
        let yaml = try make(train: 6, val: 3, size: size)
        let folder = yaml.deletingLastPathComponent()
        let spec = ShapesSpec(seed: 7, trainImages: 6, valImages: 3, imageSize: size, format: "png")
        var uncovered = 0
        for index in 0 ..< 6 {
            let scene = try ShapesWriter.scene(spec: spec, split: .train, index: index)
            let stem = String(format: "%06d", index)
            let labelText = try String(
                contentsOf: folder.appendingPathComponent("labels/train/\(stem).txt"), encoding: .utf8)
            let labels = labelText.split(separator: "\n").map { $0.split(separator: " ").map { Double($0)! } }
            XCTAssertEqual(labels.count, scene.shapes.count)
            let image = try Image(contentsOf: folder.appendingPathComponent("images/train/\(stem).png").path)

            for (i, shape) in scene.shapes.enumerated() {
                // The shape alone on a blank mask: its pixel extent, found here independently.
                let mask = try Image(width: size, height: size, channels: 1)
                try shape.draw(on: mask, color: .white)
                let bytes = mask.bytes
                let xs = bytes.indices.filter { bytes[$0] != 0 }.map { $0 % size }
                let ys = bytes.indices.filter { bytes[$0] != 0 }.map { $0 / size }
                let (x1, x2, y1, y2) = (xs.min()!, xs.max()!, ys.min()!, ys.max()!)
                let label = labels[i]
                XCTAssertEqual(Int(label[0]), shape.kind.rawValue)
                let s = Double(size)
                XCTAssertEqual(label[1] * s, Double(x1 + x2 + 1) / 2, accuracy: 1e-3)
                XCTAssertEqual(label[2] * s, Double(y1 + y2 + 1) / 2, accuracy: 1e-3)
                XCTAssertEqual(label[3] * s, Double(x2 - x1 + 1), accuracy: 1e-3)
                XCTAssertEqual(label[4] * s, Double(y2 - y1 + 1), accuracy: 1e-3)

                // On the image: only for shapes no later shape overlaps.
                let later = scene.shapes[(i + 1)...]
                let overlapped = later.contains { o in
                    o.box.x1 <= x2 + 1 && o.box.x2 >= x1 - 1 && o.box.y1 <= y2 + 1 && o.box.y2 >= y1 - 1
                }
                if overlapped { continue }
                uncovered += 1
                let color = [shape.color.b, shape.color.g, shape.color.r]
                func hasColor(_ points: [(Int, Int)]) -> Bool {
                    points.contains { image.pixel(x: $0.0, y: $0.1) == color }
                }
                XCTAssert(hasColor((x1 ... x2).map { ($0, y1) }), "top edge of \(shape.kind) in \(stem)")
                XCTAssert(hasColor((x1 ... x2).map { ($0, y2) }), "bottom edge of \(shape.kind) in \(stem)")
                XCTAssert(hasColor((y1 ... y2).map { (x1, $0) }), "left edge of \(shape.kind) in \(stem)")
                XCTAssert(hasColor((y1 ... y2).map { (x2, $0) }), "right edge of \(shape.kind) in \(stem)")
                if y1 > 0 { XCTAssertFalse(hasColor((x1 ... x2).map { ($0, y1 - 1) }), "above \(shape.kind)") }
                if y2 < size - 1 { XCTAssertFalse(hasColor((x1 ... x2).map { ($0, y2 + 1) }), "below \(shape.kind)") }
                if x1 > 0 { XCTAssertFalse(hasColor((y1 ... y2).map { (x1 - 1, $0) }), "left of \(shape.kind)") }
                if x2 < size - 1 {
                    XCTAssertFalse(hasColor((y1 ... y2).map { (x2 + 1, $0) }), "right of \(shape.kind)")
                }
            }
        }
        XCTAssertGreaterThan(uncovered, 3, "too few uncovered shapes to check against the image")
    }

    func testSecondCallReusesTheCache() throws {
        let yaml = try make()
        let folder = yaml.deletingLastPathComponent()
        // A file the generator never writes: it survives only if the folder is reused as it is.
        let sentinel = folder.appendingPathComponent("sentinel")
        try Data("kept".utf8).write(to: sentinel)
        XCTAssertEqual(try make(), yaml)
        XCTAssert(FileManager.default.fileExists(atPath: sentinel.path), "a complete cache was generated again")
        XCTAssertNotEqual(try make(seed: 9), yaml, "another seed must not share the folder")
    }

    func testInterruptedGenerationIsNotTakenAsComplete() throws {
        let cache = root.appendingPathComponent("a")
        let spec = ShapesSpec(seed: 7, trainImages: 6, valImages: 3, imageSize: 96, format: "png")
        let fm = FileManager.default
        // What a killed run leaves: a temporary folder (even with a marker), and a folder under the real name
        // without one (as a copy interrupted by hand would).
        let partial = cache.appendingPathComponent(".\(spec.folderName).partial-1-2")
        try fm.createDirectory(at: partial.appendingPathComponent("labels/train"), withIntermediateDirectories: true)
        try spec.marker.write(to: partial.appendingPathComponent(DatasetCache.markerName), atomically: false,
                              encoding: .utf8)
        let final = cache.appendingPathComponent(spec.folderName)
        try fm.createDirectory(at: final.appendingPathComponent("labels/train"), withIntermediateDirectories: true)
        try Data("0 0.5 0.5 0.1 0.1\n".utf8).write(to: final.appendingPathComponent("labels/train/000000.txt"))
        try Data("junk".utf8).write(to: final.appendingPathComponent("junk"))
        XCTAssertFalse(DatasetCache.isComplete(final, spec: spec))

        let yaml = try make()
        XCTAssertEqual(yaml.deletingLastPathComponent().path, final.path)
        XCTAssert(DatasetCache.isComplete(final, spec: spec))
        XCTAssertFalse(fm.fileExists(atPath: final.appendingPathComponent("junk").path), "the partial folder was kept")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: final.appendingPathComponent("images/train").path).count, 6)

        // A marker of another generator version or seed is not complete either.
        var stale = spec
        stale.seed = 8
        try stale.marker.write(to: final.appendingPathComponent(DatasetCache.markerName), atomically: false,
                               encoding: .utf8)
        XCTAssertFalse(DatasetCache.isComplete(final, spec: spec))
        _ = try make()
        XCTAssert(DatasetCache.isComplete(final, spec: spec))
        // No temporary folder of ours is left behind.
        let leftovers = try fm.contentsOfDirectory(atPath: cache.path).filter { $0.contains(".stale-") }
        XCTAssertEqual(leftovers, [])
    }

    /// The Vision shape calls the generator and the plots draw with: exact pixels without antialiasing, errors
    /// for bad input instead of a crash.
    func testShapePrimitives() throws {
        func extent(_ image: Image) -> [Int] {
            let bytes = image.bytes, w = image.width
            let lit = bytes.indices.filter { bytes[$0] != 0 }
            let xs = lit.map { $0 % w }, ys = lit.map { $0 / w }
            return [xs.min() ?? -1, ys.min() ?? -1, xs.max() ?? -1, ys.max() ?? -1]
        }
        let square = try Image(width: 32, height: 32, channels: 1)
        try square.fillPolygon([Point(4, 6), Point(12, 6), Point(12, 14), Point(4, 14)], color: .white)
        XCTAssertEqual(extent(square), [4, 6, 12, 14])
        XCTAssertEqual(square.bytes.filter { $0 == 255 }.count, 81)

        let disc = try Image(width: 32, height: 32, channels: 1)
        try disc.fillCircle(center: Point(16, 16), radius: 5, color: .white)
        XCTAssertEqual(extent(disc), [11, 11, 21, 21])

        let ellipse = try Image(width: 32, height: 32, channels: 1)
        try ellipse.fillEllipse(center: Point(16, 16), radiusX: 8, radiusY: 3, angle: 90, color: .white)
        XCTAssertEqual(extent(ellipse), [13, 8, 19, 24], "turned 90 degrees: tall")
        let ring = try Image(width: 32, height: 32, channels: 1)
        try ring.drawEllipse(center: Point(16, 16), radiusX: 6, radiusY: 6, color: .white, antialiased: false)
        XCTAssertEqual(ring.pixel(x: 16, y: 16), [0], "an outline leaves the centre empty")
        XCTAssertEqual(extent(ring), [10, 10, 22, 22])

        let lines = try Image(width: 32, height: 32, channels: 3)
        try lines.drawLine(from: Point(2, 3), to: Point(29, 3), color: Color(b: 1, g: 2, r: 3), antialiased: false)
        XCTAssertEqual(lines.pixel(x: 15, y: 3), [1, 2, 3])
        try lines.drawPolyline([Point(2, 20), Point(10, 20), Point(10, 28)], closed: true, color: .white,
                               antialiased: false)
        XCTAssertEqual(lines.pixel(x: 6, y: 24), [255, 255, 255], "closing segment back to the first point")

        XCTAssertThrowsError(try square.fillPolygon([Point(1, 1), Point(2, 2)], color: .white))
        XCTAssertThrowsError(try square.drawPolyline([Point(1, 1)], color: .white))
        XCTAssertThrowsError(try square.fillPolygon([Point(1, 1), Point(.nan, 2), Point(3, 1)], color: .white))
        XCTAssertThrowsError(try square.fillEllipse(center: Point(4, 4), radiusX: -1, radiusY: 2, color: .white))
    }

    func testNamesAndArguments() throws {
        XCTAssert(BuiltInDataset.isBuiltIn(nil))
        XCTAssert(BuiltInDataset.isBuiltIn(""))
        XCTAssert(BuiltInDataset.isBuiltIn("shapes"))
        XCTAssert(BuiltInDataset.isBuiltIn("shapes.yaml"))
        XCTAssertFalse(BuiltInDataset.isBuiltIn("coco8.yaml"))
        XCTAssertEqual(ShapesSpec.defaults.folderName, "shapes-v1")
        XCTAssert(BuiltInDataset.defaultRoot().path.hasSuffix("swift-yolo/datasets"))
        XCTAssertThrowsError(try make(train: 0))
        XCTAssertThrowsError(try make(size: 16))
        XCTAssertThrowsError(try make(format: "gif"))
    }
}
