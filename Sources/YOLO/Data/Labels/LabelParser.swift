import Foundation

/// What the scan found for one image: its labels (nil when the image or its label file is corrupt), the counts it
/// adds to the summary, and a message to show.
struct LabelCheck: Sendable {
    var label: ImageLabel?
    var missing = 0, found = 0, empty = 0, corrupt = 0
    var message = ""
}

/// Reads and checks one image and its label file with the reference's rules (`verify_image_label`): one object a
/// line, `class cx cy w h` normalized, or `class x1 y1 x2 y2 ...` for a polygon, or the pose layout
/// `class cx cy w h` + keypoints. A bad image or label file makes the image corrupt (skipped, with the reason);
/// duplicate rows are dropped with a warning; a missing or empty label file makes the image a background.
struct LabelParser: Sendable {
    /// Classes the dataset has (a label class must be below it).
    var classCount: Int
    /// Pose datasets: keypoints per object and values per keypoint.
    var keypointShape: (count: Int, dims: Int)?
    /// Whether the task reads keypoints (pose); otherwise pose rows are cut to their box.
    var readsKeypoints = false
    /// Every class becomes 0.
    var singleClass = false
    /// Prepended to messages ("train: ").
    var prefix = ""

    func check(image: String, labelFile: String) -> LabelCheck {
        var result = LabelCheck()
        do {
            let (shape, warning) = try ImageCheck.verify(image)
            if let warning { result.message = prefix + warning }
            var label = ImageLabel(imageFile: image, shape: shape)
            guard let data = FileManager.default.contents(atPath: labelFile) else {
                result.missing = 1
                if readsKeypoints { label.keypoints = [] }
                result.label = label
                return result
            }
            result.found = 1
            try parse(data, into: &label, result: &result, image: image)
            result.label = label
        } catch {
            result.corrupt = 1
            result.message = "\(prefix)\(image): ignoring corrupt image/label: \(error)"
        }
        return result
    }

    /// The rows of a label file as the reference reads them, with the reference's checks.
    func parse(_ data: Data, into label: inout ImageLabel, result: inout LabelCheck, image: String) throws {
        var text = String(decoding: data, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var rows = text.split(whereSeparator: \.isNewline)
            .map { $0.split(whereSeparator: \.isWhitespace).map(String.init) }
            .filter { !$0.isEmpty }
        let keypointColumns = keypointShape.map { $0.count * $0.dims } ?? 0
        if keypointColumns > 0, !readsKeypoints {  // pose labels for a box task: keep the box
            rows = rows.map { $0.count == 5 + keypointColumns ? Array($0.prefix(5)) : $0 }
        }
        var table: [[Float]]
        var segments: [[SIMD2<Float>]] = []
        if !readsKeypoints, rows.contains(where: { $0.count > 6 }) {  // polygons
            guard !rows.contains(where: { $0.count == 5 }) else {
                throw DataError("labels mix segment and detection rows")
            }
            table = []
            for row in rows {
                let values = try row.map(LabelParser.number)
                let coordinates = values.dropFirst()
                guard coordinates.count % 2 == 0 else {
                    throw DataError("a polygon row has an odd number (\(coordinates.count)) of coordinates")
                }
                // A class alone has no points: the reference's box of it fails (a zero-size reduction), so the file does.
                guard !coordinates.isEmpty else { throw DataError("a polygon row has no coordinates") }
                // NaN makes the reference's polygon box NaN, which its range check rejects: the same here.
                let nonFinite = coordinates.filter { !$0.isFinite }
                guard nonFinite.isEmpty else { throw DataError("non-normalized or out of bounds coordinates \(nonFinite)") }
                let points = stride(from: coordinates.startIndex, to: coordinates.endIndex, by: 2).map {
                    SIMD2(coordinates[$0], coordinates[$0 + 1])
                }
                segments.append(points)
                let xs = points.map(\.x)
                let ys = points.map(\.y)
                let (x1, x2, y1, y2) = (xs.min() ?? 0, xs.max() ?? 0, ys.min() ?? 0, ys.max() ?? 0)
                table.append([values[0], (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])
            }
        } else {
            table = try rows.map { try $0.map(LabelParser.number) }
            if let first = table.first, table.contains(where: { $0.count != first.count }) {
                throw DataError("label rows have different numbers of columns")
            }
        }
        guard let columns = table.first?.count else {
            result.empty = 1
            if readsKeypoints { label.keypoints = [] }
            return
        }
        if readsKeypoints {
            guard columns == 5 + keypointColumns else {
                throw DataError("labels require \(5 + keypointColumns) columns each")
            }
        } else {
            guard columns == 5 else { throw DataError("labels require 5 columns, \(columns) columns detected") }
        }
        try checkValues(table)

        // Duplicate rows: keep the first of each, in sorted order (numpy.unique's return_index).
        var keep = LabelParser.uniqueRows(table.map { $0.map { $0 } }, extra: nil)
        if keep.count < table.count, !segments.isEmpty {  // distinct polygons may share a class and a box
            keep = LabelParser.uniqueRows(table.map { [$0[0]] }, extra: segments)
        }
        if keep.count < table.count {
            result.message = "\(prefix)\(image): \(table.count - keep.count) duplicate labels removed"
            table = keep.map { table[$0] }
            if !segments.isEmpty { segments = keep.map { segments[$0] } }
        }

        label.classes = table.map { singleClass ? 0 : Int($0[0]) }
        label.boxes = table.map { SIMD4($0[1], $0[2], $0[3], $0[4]) }
        label.segments = segments
        if readsKeypoints, let (count, dims) = keypointShape {
            label.keypoints = table.map { row in
                (0..<count).map { k in
                    let x = row[5 + k * dims]
                    let y = row[5 + k * dims + 1]
                    let visible: Float = dims == 3 ? row[5 + k * dims + 2] : (x < 0 || y < 0 ? 0 : 1)
                    return SIMD3(x, y, visible)
                }
            }
        }
    }

    /// Coordinates within [0, 1] (1% tolerance), no negative value beyond -0.01, integer classes below `nc`.
    func checkValues(_ table: [[Float]]) throws {
        let points: [Float]
        if readsKeypoints, let (count, dims) = keypointShape {
            var xy: [Float] = []
            for row in table {
                for k in 0..<count {
                    let start: Int = 5 + k * dims
                    xy.append(row[start])
                    xy.append(row[start + 1])
                }
            }
            points = xy
        } else {
            points = table.flatMap { $0.dropFirst() }
        }
        let outside = points.filter { !($0 <= 1.01) }
        guard outside.isEmpty else { throw DataError("non-normalized or out of bounds coordinates \(outside)") }
        let all = table.flatMap { $0 }
        let sizes = table.flatMap { $0[3...4] }
        if let lowest = all.min(), lowest < 0, !(lowest >= -0.01 && (sizes.min() ?? 0) >= 0) {
            throw DataError("negative label values \(all.filter { $0 < 0 })")
        }
        let classes = table.map { $0[0] }
        // inf and NaN are not integers either (the reference's `cls % 1 == 0` is false for them); Int(inf) would trap.
        let fractional = classes.filter { !$0.isFinite || $0.rounded(.down) != $0 }
        guard fractional.isEmpty else { throw DataError("non-integer class labels \(fractional)") }
        let top = singleClass ? 0 : Int(classes.max() ?? 0)
        guard top < classCount else {
            throw DataError(
                "Label class \(top) exceeds dataset class count \(classCount). "
                    + "Possible class labels are 0-\(classCount - 1)")
        }
    }

    /// Indices of the first occurrence of each distinct row, in ascending row order (numpy.unique with
    /// return_index). With `extra`, rows are compared as the bytes of the class and its polygon, as the reference
    /// does for polygons.
    static func uniqueRows(_ rows: [[Float]], extra: [[SIMD2<Float>]]?) -> [Int] {
        if let extra {
            let keys: [[UInt8]] = rows.indices.map { i in
                let values = rows[i] + extra[i].flatMap { [$0.x, $0.y] }
                return values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
            }
            var firstIndex: [[UInt8]: Int] = [:]
            for (i, key) in keys.enumerated() where firstIndex[key] == nil { firstIndex[key] = i }
            return firstIndex.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.value)
        }
        var firstIndex: [[Float]: Int] = [:]
        for (i, row) in rows.enumerated() where firstIndex[row] == nil { firstIndex[row] = i }
        return firstIndex.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.value)
    }

    /// A label value; the reference's message when it is not a number.
    static func number(_ text: String) throws -> Float {
        guard let value = Double(text) else { throw DataError("could not convert string to float: '\(text)'") }
        return Float(value)
    }
}
