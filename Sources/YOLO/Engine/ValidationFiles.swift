import Foundation
import Torch

/// What `val` writes beside its metrics, as the reference's validators: with `plots`, the first three batches drawn
/// as `val_batch{i}_labels.jpg` (ground truth) and `val_batch{i}_pred.jpg` (detections above 0.25, with their
/// confidence, and their masks or keypoints for segment and pose); with `save_json`, every detection in COCO's
/// results format in `predictions.json`.
public final class ValidationFiles {
    public let folder: URL
    public var plots: Bool
    public var saveJSON: Bool
    /// Dataset class index -> COCO `category_id`.
    public let classMap: [Int]
    public let names: [String]
    public var maxDet: Int
    /// Every class written as 0, as the reference's `single_cls`.
    public var singleClass = false
    public private(set) var records: [COCOPrediction] = []

    public init(folder: URL, plots: Bool, saveJSON: Bool, classMap: [Int], names: [String], maxDet: Int = 300) {
        (self.folder, self.plots, self.saveJSON, self.classMap, self.names, self.maxDet) =
            (folder, plots, saveJSON, classMap, names, maxDet)
    }

    /// The reference's class map: COCO's 91-id numbering when the split is COCO's own list (`.../val2017.txt` or
    /// `.../test-dev2017.txt` under a path naming coco), else 1...nc.
    public static func classMap(splitPaths: [String], classCount: Int) -> [Int] {
        if splitPaths.count == 1, let path = splitPaths.first, path.contains("coco"),
           path.hasSuffix("/val2017.txt") || path.hasSuffix("/test-dev2017.txt") {
            return coco80To91
        }
        return Array(1...Swift.max(classCount, 1))
    }

    /// One batch's detections (per image: (n, 6 + extra) x1, y1, x2, y2, conf, class in the batch's pixels, then
    /// mask coefficients or keypoints as NMS returns them; `head` has the prototypes, `keypointShape` the layout).
    func add(batch: Batch, detections: [Tensor], head: HeadOutput? = nil, keypointShape: (count: Int, dims: Int)? = nil)
        throws
    {
        if batch.index == 0 { records = [] }  // a new pass
        guard plots && batch.index < 3 || saveJSON else { return }
        var rows = try detections.map { try $0.size(0) == 0 ? [] : $0.slice(dim: 1, end: 6).contiguous().toArray(Float.self) }
        if singleClass {
            for i in rows.indices { for r in stride(from: 5, to: rows[i].count, by: 6) { rows[i][r] = 0 } }
        }
        if plots && batch.index < 3 {
            try BatchPlot.render(batch, names: names)
                .write(to: folder.appendingPathComponent("val_batch\(batch.index)_labels.jpg").path)
            var boxes = BatchPlot.predictions(rows, batch: batch, maxDet: maxDet)
            try attachShapes(to: &boxes, batch: batch, detections: detections, head: head, keypointShape: keypointShape)
            try BatchPlot.render(batch, names: names, boxes: boxes)
                .write(to: folder.appendingPathComponent("val_batch\(batch.index)_pred.jpg").path)
        }
        if saveJSON {
            for (i, r) in rows.enumerated() {
                var image = COCOPrediction.records(r, image: i, of: batch, classMap: classMap)
                let predicted = detections[i]
                if !image.isEmpty, predicted.size(1) > 6, let prototypes = head?.prototypes {
                    // As the reference's validator with save_json: masks at the input's size, then in the file's pixels.
                    let kept = try predicted.to(.float32)
                    let masks = try processMasks(
                        prototypes: prototypes.select(dim: 0, index: i), coefficients: kept.slice(dim: 1, start: 6),
                        boxes: kept.slice(dim: 1, end: 4), shape: (batch.shape.height, batch.shape.width))
                    let original = batch.originalShapes[i]
                    let bytes = try masksInOriginalPixels(masks, ratioPad: batch.ratioPads[i], original: original)
                        .to(.cpu).contiguous().toArray(UInt8.self)
                    let plane = original.height * original.width
                    for j in image.indices {
                        image[j].segmentation = COCOMaskRLE(
                            mask: Array(bytes[(j * plane)..<((j + 1) * plane)]), height: original.height, width: original.width)
                    }
                } else if !image.isEmpty, predicted.size(1) > 6, let (count, dims) = keypointShape {
                    let values = try predicted.slice(dim: 1, start: 6).to(.float32).contiguous().toArray(Float.self)
                    let points = COCOPrediction.keypoints(values, count: count, dims: dims, image: i, of: batch)
                    for j in image.indices { image[j].keypoints = points[j] }
                }
                records += image
            }
        }
    }

    /// The predicted masks (from the prototypes, as the validator scores them) or keypoints of `boxes`, which hold
    /// the first `maxDet` detections of each image in order.
    private func attachShapes(
        to boxes: inout [BatchPlot.PlotBox], batch: Batch, detections: [Tensor], head: HeadOutput?,
        keypointShape: (count: Int, dims: Int)?
    ) throws {
        let (h, w) = (Float(batch.shape.height), Float(batch.shape.width))
        var next = 0
        for (i, predicted) in detections.enumerated() {
            let n = Swift.min(predicted.size(0), maxDet)
            defer { next += n }
            guard n > 0, predicted.size(1) > 6 else { continue }
            let kept = try predicted.slice(dim: 0, end: n).to(.float32)
            if let prototypes = head?.prototypes {
                let (mh, mw) = (prototypes.size(2), prototypes.size(3))
                let masks = try processMasksAtPrototypes(
                    prototypes: prototypes.select(dim: 0, index: i), coefficients: kept.slice(dim: 1, start: 6),
                    boxes: kept.slice(dim: 1, end: 4), shape: (mh * 4, mw * 4))
                let bytes = try masks.to(.uint8).to(.cpu).contiguous().toArray(UInt8.self)
                for j in 0..<n {
                    boxes[next + j].mask = BatchPlot.PlotMask(width: mw, height: mh, bytes: Array(bytes[(j * mh * mw)..<((j + 1) * mh * mw)]))
                }
            } else if let (count, dims) = keypointShape {
                let values = try kept.slice(dim: 1, start: 6).contiguous().toArray(Float.self)
                for j in 0..<n {
                    boxes[next + j].keypoints = (0..<count).map { k in
                        let p = (j * count + k) * dims
                        return [values[p] / w, values[p + 1] / h] + (dims == 3 ? [values[p + 2]] : [])
                    }
                }
            }
        }
    }

    /// Writes `predictions.json` (when asked and there are detections, as the reference) and returns its URL.
    @discardableResult
    func finish() throws -> URL? {
        guard saveJSON, !records.isEmpty else { return nil }
        let url = folder.appendingPathComponent("predictions.json")
        try DurableFile.write(Data(COCOPrediction.json(records).utf8), to: url)
        return url
    }

    /// The reference's `coco80_to_coco91_class`.
    public static let coco80To91 = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34,
        35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
        64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90,
    ]
}

/// One detection in COCO's results format, as the reference's `pred_to_json` writes it.
public struct COCOPrediction: Equatable, Sendable {
    /// The file's stem as a number when it is all digits (COCO's ids), else the stem.
    public enum ImageID: Equatable, Sendable {
        case number(Int)
        case name(String)
    }

    public var imageID: ImageID
    public var fileName: String
    public var categoryID: Int
    /// Top-left x, y, width, height in the original image's pixels, rounded to 3 decimals.
    public var bbox: [Double]
    /// Rounded to 5 decimals.
    public var score: Double
    /// Segment: the mask in the original image's pixels.
    public var segmentation: COCOMaskRLE? = nil
    /// Pose: x, y (original pixels) and, for keypoints of 3 values, the confidence, of each keypoint in turn.
    public var keypoints: [Double]? = nil

    public static func imageID(forFile path: String) -> ImageID {
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        if !stem.isEmpty, stem.allSatisfy(\.isASCII), stem.allSatisfy(\.isNumber), let n = Int(stem) { return .number(n) }
        return .name(stem)
    }

    /// Records for image `i` of `batch`: `rows` (x1, y1, x2, y2, conf, class in the batch's pixels, flattened) mapped
    /// back to the file's pixels through the image's ratio and padding, clipped to it (the reference's `scale_boxes`).
    static func records(_ rows: [Float], image i: Int, of batch: Batch, classMap: [Int]) -> [COCOPrediction] {
        let path = batch.paths[i]
        let id = imageID(forFile: path), file = (path as NSString).lastPathComponent
        let rp = batch.ratioPads[i], shape = batch.originalShapes[i]
        let (padX, padY) = (Float(rp.padLeft), Float(rp.padTop))
        let (gx, gy) = (Float(rp.ratioWidth), Float(rp.ratioHeight))
        let (w, h) = (Float(shape.width), Float(shape.height))
        return stride(from: 0, to: rows.count, by: 6).map { r in
            let x1 = Swift.min(Swift.max((rows[r] - padX) / gx, 0), w)
            let y1 = Swift.min(Swift.max((rows[r + 1] - padY) / gy, 0), h)
            let x2 = Swift.min(Swift.max((rows[r + 2] - padX) / gx, 0), w)
            let y2 = Swift.min(Swift.max((rows[r + 3] - padY) / gy, 0), h)
            let c = Int(rows[r + 5])
            return COCOPrediction(
                imageID: id, fileName: file, categoryID: c < classMap.count ? classMap[c] : c + 1,
                bbox: [x1, y1, x2 - x1, y2 - y1].map { rounded(Double($0), 3) }, score: rounded(Double(rows[r + 4]), 5))
        }
    }

    /// Keypoints (n, K·dims, flattened rows of x, y[, conf] in the batch's pixels) of image `i` in the file's pixels,
    /// as the reference's `scale_coords` with the batch's ratio and padding: padding off, divided by the gain,
    /// clipped to the image, in float32; each detection's values in turn.
    static func keypoints(_ values: [Float], count: Int, dims: Int, image i: Int, of batch: Batch) -> [[Double]] {
        let rp = batch.ratioPads[i], shape = batch.originalShapes[i]
        let (gx, gy) = (Float(rp.ratioWidth), Float(rp.ratioHeight))
        let (padX, padY) = (Float(rp.padLeft), Float(rp.padTop))
        let (w, h) = (Float(shape.width), Float(shape.height))
        let per = count * dims
        return stride(from: 0, to: values.count, by: per).map { start in
            (0..<count).flatMap { k -> [Double] in
                let p = start + k * dims
                let x = Swift.min(Swift.max((values[p] - padX) / gx, 0), w)
                let y = Swift.min(Swift.max((values[p + 1] - padY) / gy, 0), h)
                return [Double(x), Double(y)] + (dims == 3 ? [Double(values[p + 2])] : [])
            }
        }
    }

    /// Python's `round(x, digits)`: the double nearest the correctly rounded decimal (printf rounds the exact value).
    static func rounded(_ x: Double, _ digits: Int) -> Double {
        Double(String(format: "%.\(digits)f", x)) ?? x
    }

    /// The list as Python's `json.dump` writes it: one line, ", " and ": " separators, keys in the reference's order,
    /// floats in their shortest round-trip form.
    public static func json(_ records: [COCOPrediction]) -> String {
        func number(_ x: Double) -> String { x.isFinite ? "\(x)" : (x.isNaN ? "NaN" : x > 0 ? "Infinity" : "-Infinity") }
        func quoted(_ s: String) -> String {  // json.dump's ensure_ascii: everything past ASCII as \uXXXX
            var out = "\""
            for unit in s.utf16 {
                switch unit {
                case 0x22: out += "\\\""
                case 0x5C: out += "\\\\"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                case 0x08: out += "\\b"
                case 0x0C: out += "\\f"
                case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(unit)!)
                default: out += String(format: "\\u%04x", unit)
                }
            }
            return out + "\""
        }
        let items = records.map { p -> String in
            let id: String
            switch p.imageID {
            case .number(let n): id = "\(n)"
            case .name(let s): id = quoted(s)
            }
            var item = "{\"image_id\": \(id), \"file_name\": \(quoted(p.fileName)), \"category_id\": \(p.categoryID), "
                + "\"bbox\": [\(p.bbox.map(number).joined(separator: ", "))], \"score\": \(number(p.score))"
            if let rle = p.segmentation {
                item += ", \"segmentation\": {\"size\": [\(rle.height), \(rle.width)], \"counts\": \(quoted(rle.counts))}"
            }
            if let keypoints = p.keypoints { item += ", \"keypoints\": [\(keypoints.map(number).joined(separator: ", "))]" }
            return item + "}"
        }
        return "[" + items.joined(separator: ", ") + "]"
    }
}
