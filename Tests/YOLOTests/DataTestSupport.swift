import Foundation
import Vision
import XCTest

@testable import YOLO

/// A folder under the system's temporary directory, removed by `remove()`.
struct ScratchFolder {
    let path: String

    init(_ name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("swift-yolo-data-\(safe)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func file(_ relative: String) -> String { path + "/" + relative }

    func write(_ text: String, to relative: String) throws {
        let target = file(relative)
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: target).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try text.write(toFile: target, atomically: true, encoding: .utf8)
    }

    func mkdir(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: file(relative), withIntermediateDirectories: true)
    }
}

/// Collects log lines from several threads.
final class LogLines: @unchecked Sendable {
    private var lines: [String] = []
    private let lock = NSLock()

    var log: DataLog { { [self] line in lock.withLock { lines.append(line) } } }
    var all: [String] { lock.withLock { lines } }
    var text: String { all.joined(separator: "\n") }
}

/// Synthetic scenes: grey images with filled rectangles of known, far-apart colours, one colour per class.
enum Scenes {
    /// Corners of the RGB cube (BGR order), each far from the grey background and from the 114 border.
    static let palette: [Color] = [
        Color(b: 0, g: 0, r: 255), Color(b: 0, g: 255, r: 0), Color(b: 255, g: 0, r: 0), Color(b: 0, g: 255, r: 255),
        Color(b: 255, g: 0, r: 255), Color(b: 255, g: 255, r: 0), Color(b: 255, g: 255, r: 255),
        Color(b: 0, g: 0, r: 0),
    ]
    static let background: Color = 114

    /// A rectangle covering pixels x1..<x2, y1..<y2, of class `cls` (drawn in palette[cls]).
    struct Rect {
        var cls: Int
        var x1: Int, y1: Int, x2: Int, y2: Int
    }

    /// The image and its labels (pixel boxes: a rectangle of pixels x1..<x2 has the box x1...x2).
    static func scene(width: Int, height: Int, rects: [Rect], file: String = "scene") throws -> LabeledImage {
        let image = try Image(width: width, height: height, fill: background)
        for r in rects {
            try image.fillRectangle(x1: r.x1, y1: r.y1, x2: r.x2 - 1, y2: r.y2 - 1, color: palette[r.cls])
        }
        let labels = ObjectLabels(
            classes: rects.map(\.cls),
            boxes: rects.map {
                ObjectLabels.Box(x1: Float($0.x1), y1: Float($0.y1), x2: Float($0.x2), y2: Float($0.y2))
            })
        return LabeledImage(image: image, labels: labels, imageFile: file)
    }

    /// Random non-overlapping rectangles (at least `gap` pixels apart), classes `classes`.
    static func randomRects(width: Int, height: Int, classes: [Int], rng: inout SampleRNG, gap: Int = 4) -> [Rect] {
        var rects: [Rect] = []
        for cls in classes {
            for _ in 0..<50 {
                let w = rng.int(in: 8...max(8, width / 3))
                let h = rng.int(in: 8...max(8, height / 3))
                let x = rng.int(in: 0...(width - w))
                let y = rng.int(in: 0...(height - h))
                let candidate = Rect(cls: cls, x1: x, y1: y, x2: x + w, y2: y + h)
                let clear = rects.allSatisfy {
                    candidate.x2 + gap <= $0.x1 || $0.x2 + gap <= candidate.x1 || candidate.y2 + gap <= $0.y1
                        || $0.y2 + gap <= candidate.y1
                }
                if clear {
                    rects.append(candidate)
                    break
                }
            }
        }
        return rects
    }

    /// The pixels within `tolerance` (per channel) of `color`: their bounding box (x1, y1, x2, y2 exclusive) and
    /// count, or nil when there are none.
    static func pixels(of color: Color, in image: Image, tolerance: Int = 40)
        -> (x1: Int, y1: Int, x2: Int, y2: Int, count: Int)?
    {
        let (w, h, c) = (image.width, image.height, image.channels)
        var box: (x1: Int, y1: Int, x2: Int, y2: Int, count: Int)?
        image.withUnsafeBytes { raw in
            for y in 0..<h {
                for x in 0..<w {
                    let p = (y * w + x) * c
                    if abs(Int(raw[p]) - Int(color.b)) <= tolerance, abs(Int(raw[p + 1]) - Int(color.g)) <= tolerance,
                        abs(Int(raw[p + 2]) - Int(color.r)) <= tolerance
                    {
                        if let b = box {
                            box = (min(b.x1, x), min(b.y1, y), max(b.x2, x + 1), max(b.y2, y + 1), b.count + 1)
                        } else {
                            box = (x, y, x + 1, y + 1, 1)
                        }
                    }
                }
            }
        }
        return box
    }

    /// Fails unless every labelled object's pixels lie inside its box, within `slack` pixels; with `tight`, also
    /// unless the box reaches its pixels on every side, within `slack`.
    static func assertBoxesBoundPixels(
        _ sample: LabeledImage, slack: Float = 2, tight: Bool = true, _ context: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        for (cls, box) in zip(sample.labels.classes, sample.labels.boxes) {
            guard let p = pixels(of: palette[cls], in: sample.image) else {
                XCTFail("\(context): class \(cls) has a box \(box) but no pixels", file: file, line: line)
                continue
            }
            let inside =
                Float(p.x1) >= box.x1 - slack && Float(p.y1) >= box.y1 - slack
                && Float(p.x2) <= box.x2 + slack && Float(p.y2) <= box.y2 + slack
            XCTAssertTrue(inside, "\(context): class \(cls) pixels \(p) outside its box \(box)", file: file, line: line)
            if tight {
                let reaches =
                    Float(p.x1) <= box.x1 + slack && Float(p.y1) <= box.y1 + slack
                    && Float(p.x2) >= box.x2 - slack && Float(p.y2) >= box.y2 - slack
                XCTAssertTrue(
                    reaches, "\(context): class \(cls) box \(box) larger than its pixels \(p)", file: file, line: line)
            }
        }
    }

    /// Writes scenes as PNG files with YOLO label files under `folder/images/<split>` and `folder/labels/<split>`,
    /// and a data.yaml naming `classes` classes. Returns the YAML's path.
    @discardableResult
    static func writeDataset(
        _ scenes: [(name: String, width: Int, height: Int, rects: [Rect])], in folder: ScratchFolder,
        split: String = "train", classes: Int = 8
    ) throws -> String {
        try folder.mkdir("images/\(split)")
        try folder.mkdir("labels/\(split)")
        for s in scenes {
            let scene = try scene(width: s.width, height: s.height, rects: s.rects)
            try scene.image.write(to: folder.file("images/\(split)/\(s.name).png"))
            let rows = s.rects.map { r in
                let (w, h) = (Double(s.width), Double(s.height))
                return String(
                    format: "%d %.6f %.6f %.6f %.6f", r.cls, Double(r.x1 + r.x2) / 2 / w, Double(r.y1 + r.y2) / 2 / h,
                    Double(r.x2 - r.x1) / w, Double(r.y2 - r.y1) / h)
            }
            try folder.write(rows.joined(separator: "\n") + "\n", to: "labels/\(split)/\(s.name).txt")
        }
        let names = (0..<classes).map { "  \($0): shape\($0)" }.joined(separator: "\n")
        try folder.write("path: .\ntrain: images/\(split)\nval: images/\(split)\nnames:\n\(names)\n", to: "data.yaml")
        return folder.file("data.yaml")
    }

    /// coco8 (images, labels, YAML) copied into `folder`, so that label caches are written there and not in ../shared
    /// (a fresh copy per test; `SharedDatasets.yaml` gives one copy per test process).
    static func copyCoco8(to folder: ScratchFolder, dataset: String = "coco8") throws -> String {
        let yaml = try Fixtures.shared("datasets/\(dataset).yaml")
        let source = URL(fileURLWithPath: yaml).deletingLastPathComponent().appendingPathComponent(dataset).path
        try SharedDatasets.copyWritable(source, to: folder.file(dataset))
        try FileManager.default.copyItem(atPath: yaml, toPath: folder.file("\(dataset).yaml"))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: folder.file("\(dataset).yaml"))
        return folder.file("\(dataset).yaml")
    }
}
