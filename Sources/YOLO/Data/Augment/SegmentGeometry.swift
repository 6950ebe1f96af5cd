import Foundation

/// Polygon helpers with the reference's semantics (ultralytics/utils/ops.py).
enum SegmentGeometry {
    /// The closed polygon resampled to `n` points by linear interpolation along its vertex index, keeping the
    /// original vertices (`resample_segments`).
    static func resample(_ segment: [SIMD2<Float>], to n: Int) -> [SIMD2<Float>] {
        if segment.count == n || segment.isEmpty { return segment }
        let closed = segment + [segment[0]]
        let last = Double(closed.count - 1)
        let count = closed.count < n ? n - closed.count : n
        var positions = (0..<count).map { count == 1 ? 0 : Double($0) * last / Double(count - 1) }
        if closed.count < n {  // insert the vertices themselves (numpy.insert at searchsorted positions)
            var merged: [Double] = []
            merged.reserveCapacity(n)
            var j = 0
            for vertex in 0..<closed.count {
                let v = Double(vertex)
                while j < positions.count, positions[j] < v {
                    merged.append(positions[j])
                    j += 1
                }
                merged.append(v)
            }
            merged += positions[j...]
            positions = merged
        }
        return positions.map { t in
            let i = min(Int(t), closed.count - 1)
            let f = t - Double(i)
            if i == closed.count - 1 || f == 0 { return closed[i] }
            let a = closed[i]
            let b = closed[i + 1]
            return SIMD2(Float(Double(a.x) + f * Double(b.x - a.x)), Float(Double(a.y) + f * Double(b.y - a.y)))
        }
    }

    /// The box of the polygon's visible part in a `width` x `height` image: its vertices inside, where its edges
    /// cross the borders, and the image corners it encloses (`segment2box`). Zero when nothing is visible.
    static func box(of segment: [SIMD2<Float>], width: Float, height: Float) -> ObjectLabels.Box {
        let zero = ObjectLabels.Box(x1: 0, y1: 0, x2: 0, y2: 0)
        guard !segment.isEmpty else { return zero }
        let xs = segment.map(\.x)
        let ys = segment.map(\.y)
        let (xmin, xmax, ymin, ymax) = (xs.min()!, xs.max()!, ys.min()!, ys.max()!)
        if xmin >= 0, ymin >= 0, xmax <= width, ymax <= height {
            return ObjectLabels.Box(x1: xmin, y1: ymin, x2: xmax, y2: ymax)
        }
        if xmax < 0 || ymax < 0 || xmin > width || ymin > height { return zero }
        var points = segment.filter { $0.x >= 0 && $0.y >= 0 && $0.x <= width && $0.y <= height }
        // Crossings of each edge with x = 0, x = width, y = 0, y = height.
        for (i, start) in segment.enumerated() {
            let delta = segment[(i + 1) % segment.count] - start
            for (axis, bound, limit) in [
                (0, Float(0), height), (0, width, height), (1, Float(0), width), (1, height, width),
            ] {
                let d = delta[axis]
                guard d != 0 else { continue }
                let t = (bound - start[axis]) / d
                let crossing = start + t * delta
                let other = crossing[1 - axis]
                if t >= 0, t <= 1, other >= 0, other <= limit { points.append(crossing) }
            }
        }
        for corner in [SIMD2<Float>(0, 0), SIMD2(width, 0), SIMD2(0, height), SIMD2(width, height)]
        where contains(segment, corner) {
            points.append(corner)
        }
        guard !points.isEmpty else { return zero }
        let px = points.map(\.x)
        let py = points.map(\.y)
        return ObjectLabels.Box(x1: px.min()!, y1: py.min()!, x2: px.max()!, y2: py.max()!)
    }

    /// Whether `point` is inside the polygon or on its edge (cv2.pointPolygonTest(...) >= 0).
    static func contains(_ polygon: [SIMD2<Float>], _ point: SIMD2<Float>) -> Bool {
        var inside = false
        let n = polygon.count
        for i in 0..<n {
            let a = polygon[i]
            let b = polygon[(i + 1) % n]
            // On the edge: collinear and within its extent.
            let cross = (b.x - a.x) * (point.y - a.y) - (b.y - a.y) * (point.x - a.x)
            if abs(cross) <= 1e-6 * max(1, abs(b.x - a.x) + abs(b.y - a.y)),
                point.x >= min(a.x, b.x), point.x <= max(a.x, b.x), point.y >= min(a.y, b.y), point.y <= max(a.y, b.y)
            {
                return true
            }
            if (a.y > point.y) != (b.y > point.y), point.x < (b.x - a.x) * (point.y - a.y) / (b.y - a.y) + a.x {
                inside.toggle()
            }
        }
        return inside
    }

    /// A `width` x `height` mask (1 inside) of polygons with vertices truncated to whole pixels, filled by even-odd
    /// scan lines through pixel centres (cv2.drawContours(..., FILLED) up to edge pixels).
    static func fillMask(_ polygons: [[SIMD2<Float>]], width: Int, height: Int) -> [UInt8] {
        var mask = [UInt8](repeating: 0, count: width * height)
        for polygon in polygons where polygon.count >= 3 {
            let points = polygon.map { SIMD2<Double>(Double(Int($0.x)), Double(Int($0.y))) }
            let ys = points.map(\.y)
            let top = max(0, Int(ys.min()!))
            let bottom = min(height - 1, Int(ys.max()!))
            guard top <= bottom else { continue }
            var crossings: [Double] = []
            for y in top...bottom {
                crossings.removeAll(keepingCapacity: true)
                let cy = Double(y)
                for i in points.indices {
                    let a = points[i]
                    let b = points[(i + 1) % points.count]
                    if (a.y <= cy) != (b.y <= cy) { crossings.append(a.x + (cy - a.y) * (b.x - a.x) / (b.y - a.y)) }
                }
                crossings.sort()
                var k = 0
                while k + 1 < crossings.count {
                    let from = max(0, Int(crossings[k].rounded(.up)))
                    let to = min(width - 1, Int(crossings[k + 1]))
                    if from <= to { for x in from...to { mask[y * width + x] = 1 } }
                    k += 2
                }
                // Outline pixels, so thin polygons still cover their vertices (drawContours draws the border too).
                for p in points where Int(p.y) == y && p.x >= 0 && Int(p.x) < width { mask[y * width + Int(p.x)] = 1 }
            }
        }
        return mask
    }
}
