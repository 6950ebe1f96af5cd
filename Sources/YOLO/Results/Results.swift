import Foundation

/// What prediction gives for one image, as the reference's `Results`: the image's path and size, its boxes, the
/// class names and the time each stage took.
///
///     for result in results {
///         print(result.path, result.verbose)                 // "a.jpg 2 persons, 1 bus, "
///         for (box, c, p) in zip(result.boxes.xyxy, result.boxes.cls, result.boxes.conf) { ... }
///         let json = result.toJSON()                         // the reference's `to_json()` text
///     }
public struct Results: Sendable {
    public let path: String
    public let boxes: Boxes
    public let names: [Int: String]
    /// Milliseconds per stage: "preprocess", "inference", "postprocess".
    public var speed: [String: Double]

    public init(path: String, boxes: Boxes, names: [Int: String], speed: [String: Double] = [:]) {
        (self.path, self.boxes, self.names, self.speed) = (path, boxes, names, speed)
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
    /// (corners divided by the image size when `normalize`).
    public func summary(normalize: Bool = false, decimals: Int = 5) -> [DetectionSummary] {
        let w = normalize ? Double(originalShape.width) : 1, h = normalize ? Double(originalShape.height) : 1
        return boxes.detections.map { d in
            DetectionSummary(
                name: name(d.classIndex), classIndex: d.classIndex,
                confidence: pythonRound(Double(d.confidence), decimals),
                x1: pythonRound(Double(d.box.x1) / w, decimals), y1: pythonRound(Double(d.box.y1) / h, decimals),
                x2: pythonRound(Double(d.box.x2) / w, decimals), y2: pythonRound(Double(d.box.y2) / h, decimals))
        }
    }

    /// The reference's `to_json()`: a JSON array of the summary rows.
    public func toJSON(normalize: Bool = false, decimals: Int = 5) -> String {
        "[" + summary(normalize: normalize, decimals: decimals).map(\.json).joined(separator: ",") + "]"
    }

    /// The lines `save_txt` writes: class, then normalized centre x, y, width, height (and the confidence), as `%g`.
    public func textLines(includeConfidence: Bool = false) -> [String] {
        zip(boxes.detections, boxes.xywhn).map { d, xywhn in
            let values = xywhn.map(Double.init) + (includeConfidence ? [Double(d.confidence)] : [])
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

    /// The reference's JSON object for the row (keys in its order).
    var json: String {
        let box = "{\"x1\":\(x1),\"y1\":\(y1),\"x2\":\(x2),\"y2\":\(y2)}"
        return "{\"name\":\(jsonString(name)),\"class\":\(classIndex),\"confidence\":\(confidence),\"box\":\(box)}"
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
