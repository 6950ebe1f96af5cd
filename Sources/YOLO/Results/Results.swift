import Foundation

/// What prediction gives for one image, as the reference's `Results`: the image's path and size, its boxes (and
/// with a segmentation model their masks), the class names and the time each stage took.
///
///     for result in results {
///         print(result.path, result.verbose)                 // "a.jpg 2 persons, 1 bus, "
///         for (box, c, p) in zip(result.boxes.xyxy, result.boxes.cls, result.boxes.conf) { ... }
///         let json = result.toJSON()                         // the reference's `to_json()` text
///     }
public struct Results: Sendable {
    public let path: String
    public let boxes: Boxes
    /// One mask per box (segmentation models; nil otherwise).
    public let masks: Masks?
    /// One set of keypoints per box (pose models; nil otherwise).
    public var keypoints: Keypoints? = nil
    public let names: [Int: String]
    /// Milliseconds per stage: "preprocess", "inference", "postprocess".
    public var speed: [String: Double]

    public init(
        path: String, boxes: Boxes, masks: Masks? = nil, keypoints: Keypoints? = nil, names: [Int: String],
        speed: [String: Double] = [:]
    ) {
        (self.path, self.boxes, self.masks, self.keypoints, self.names, self.speed) = (path, boxes, masks, keypoints, names, speed)
    }

    public var originalShape: (height: Int, width: Int) { boxes.originalShape }

    /// The reference's one-line count of what was found: "2 persons, 1 bus, " (class order), or
    /// "(no detections), ".
    public var verbose: String {
        guard !boxes.isEmpty else { return "(no detections), " }
        var counts = [Int: Int]()
        for c in boxes.cls { counts[c, default: 0] += 1 }
        return counts.keys.sorted().map { c in
            let n = counts[c]!
            return "\(n) \(name(c))\(n > 1 ? "s" : ""), "
        }.joined()
    }

    /// One row per box, as the reference's `summary()`: name, class, confidence and corners, rounded to `decimals`
    /// (corners divided by the image size when `normalize`), and each mask's outline when there are masks.
    public func summary(normalize: Bool = false, decimals: Int = 5) -> [DetectionSummary] {
        let w = normalize ? Double(originalShape.width) : 1, h = normalize ? Double(originalShape.height) : 1
        let outlines = (try? masks?.xy) ?? nil
        return boxes.detections.enumerated().map { i, d in
            var row = DetectionSummary(
                name: name(d.classIndex), classIndex: d.classIndex,
                confidence: pythonRound(Double(d.confidence), decimals),
                x1: pythonRound(Double(d.box.x1) / w, decimals), y1: pythonRound(Double(d.box.y1) / h, decimals),
                x2: pythonRound(Double(d.box.x2) / w, decimals), y2: pythonRound(Double(d.box.y2) / h, decimals))
            if let outlines, i < outlines.count {
                row.segmentX = outlines[i].map { pythonRound(Double($0.x) / w, decimals) }
                row.segmentY = outlines[i].map { pythonRound(Double($0.y) / h, decimals) }
            }
            if let keypoints, i < keypoints.count {
                row.keypointX = keypoints.data[i].map { pythonRound(Double($0[0]) / w, decimals) }
                row.keypointY = keypoints.data[i].map { pythonRound(Double($0[1]) / h, decimals) }
                if keypoints.hasVisible { row.keypointVisible = keypoints.data[i].map { pythonRound(Double($0[2]), decimals) } }
            }
            return row
        }
    }

    /// The reference's `to_json()`: a JSON array of the summary rows.
    public func toJSON(normalize: Bool = false, decimals: Int = 5) -> String {
        "[" + summary(normalize: normalize, decimals: decimals).map(\.json).joined(separator: ",") + "]"
    }

    /// The lines `save_txt` writes: class, then normalized centre x, y, width, height, or with masks the outline's
    /// normalized points (a detection whose outline has fewer than 3 points is left out, as the reference), then
    /// the confidence when asked, as `%g`.
    public func textLines(includeConfidence: Bool = false) -> [String] {
        let outlines = (try? masks?.xyn) ?? nil
        return zip(boxes.detections, boxes.xywhn).enumerated().compactMap { i, row in
            let (d, xywhn) = row
            var values = xywhn.map(Double.init)
            if let outlines {
                guard i < outlines.count, outlines[i].count >= 3 else { return nil }
                values = outlines[i].flatMap { [Double($0.x), Double($0.y)] }
            }
            if let keypoints, i < keypoints.count {  // each keypoint's normalized x, y (and confidence)
                let (w, h) = (Double(originalShape.width), Double(originalShape.height))
                values += keypoints.data[i].flatMap { p in [Double(p[0]) / w, Double(p[1]) / h] + (p.count == 3 ? [Double(p[2])] : []) }
            }
            values += includeConfidence ? [Double(d.confidence)] : []
            return ([String(d.classIndex)] + values.map { String(format: "%g", $0) }).joined(separator: " ")
        }
    }

    private func name(_ c: Int) -> String { names[c] ?? String(c) }
}

/// One detection as the reference's `Results.summary()` lists it.
public struct DetectionSummary: Equatable, Sendable {
    public var name: String
    public var classIndex: Int
    public var confidence: Double
    public var x1: Double, y1: Double, x2: Double, y2: Double
    /// The mask's outline (segmentation), x and y apart as the reference's `segments`.
    public var segmentX: [Double]? = nil, segmentY: [Double]? = nil
    /// The keypoints (pose), as the reference's `keypoints`: x, y and, when predicted, `visible` confidences.
    public var keypointX: [Double]? = nil, keypointY: [Double]? = nil, keypointVisible: [Double]? = nil

    /// The reference's JSON object for the row (keys in its order).
    var json: String {
        let box = "{\"x1\":\(x1),\"y1\":\(y1),\"x2\":\(x2),\"y2\":\(y2)}"
        var text = "{\"name\":\(jsonString(name)),\"class\":\(classIndex),\"confidence\":\(confidence),\"box\":\(box)"
        if let segmentX, let segmentY {
            func list(_ v: [Double]) -> String { "[" + v.map { "\($0)" }.joined(separator: ",") + "]" }
            text += ",\"segments\":{\"x\":\(list(segmentX)),\"y\":\(list(segmentY))}"
        }
        if let keypointX, let keypointY {
            func list(_ v: [Double]) -> String { "[" + v.map { "\($0)" }.joined(separator: ",") + "]" }
            text += ",\"keypoints\":{\"x\":\(list(keypointX)),\"y\":\(list(keypointY))"
                + (keypointVisible.map { ",\"visible\":\(list($0))" } ?? "") + "}"
        }
        return text + "}"
    }
}

/// Python's `round(x, n)`: the decimal nearest to the exact binary value (printf rounds the same way).
private func pythonRound(_ x: Double, _ decimals: Int) -> Double {
    guard x.isFinite else { return x }
    return Double(String(format: "%.\(max(decimals, 0))f", x)) ?? x
}

/// A JSON string literal.
private func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
