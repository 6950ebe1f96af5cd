/// The objects of an image while it is being transformed (the reference's `Instances` with its `cls`): boxes as
/// corners in pixels, with their polygons and keypoints when the dataset has them.
public struct ObjectLabels: Sendable, Equatable {
    /// A box's corners in pixels: (x1, y1) top-left, (x2, y2) bottom-right.
    public struct Box: Sendable, Equatable {
        public var x1: Float, y1: Float, x2: Float, y2: Float

        public init(x1: Float, y1: Float, x2: Float, y2: Float) {
            (self.x1, self.y1, self.x2, self.y2) = (x1, y1, x2, y2)
        }

        public var width: Float { x2 - x1 }
        public var height: Float { y2 - y1 }
        public var area: Float { width * height }
    }

    public var classes: [Int] = []
    public var boxes: [Box] = []
    /// One polygon per object (pixels), or none.
    public var segments: [[SIMD2<Float>]] = []
    /// One list of (x, y, visibility) per object (pixels), for pose datasets.
    public var keypoints: [[SIMD3<Float>]]?

    public init(
        classes: [Int] = [], boxes: [Box] = [], segments: [[SIMD2<Float>]] = [], keypoints: [[SIMD3<Float>]]? = nil
    ) {
        self.classes = classes
        self.boxes = boxes
        self.segments = segments
        self.keypoints = keypoints
    }

    /// The labels of a scanned image in pixels of an image of `shape` (its normalized boxes scaled up).
    public init(_ label: ImageLabel, shape: ImageShape) {
        let w = Float(shape.width)
        let h = Float(shape.height)
        classes = label.classes
        boxes = label.boxes.map { b in
            Box(x1: (b.x - b.z / 2) * w, y1: (b.y - b.w / 2) * h, x2: (b.x + b.z / 2) * w, y2: (b.y + b.w / 2) * h)
        }
        segments = label.segments.map { $0.map { $0 * SIMD2(w, h) } }
        keypoints = label.keypoints.map { $0.map { $0.map { SIMD3($0.x * w, $0.y * h, $0.z) } } }
    }

    public var count: Int { classes.count }

    /// Moves everything by (dx, dy) pixels.
    public mutating func translate(dx: Float, dy: Float) {
        boxes = boxes.map { Box(x1: $0.x1 + dx, y1: $0.y1 + dy, x2: $0.x2 + dx, y2: $0.y2 + dy) }
        let d = SIMD2(dx, dy)
        segments = segments.map { $0.map { $0 + d } }
        keypoints = keypoints?.map { $0.map { SIMD3($0.x + dx, $0.y + dy, $0.z) } }
    }

    /// Scales every coordinate.
    public mutating func scale(x sx: Float, y sy: Float) {
        boxes = boxes.map { Box(x1: $0.x1 * sx, y1: $0.y1 * sy, x2: $0.x2 * sx, y2: $0.y2 * sy) }
        let s = SIMD2(sx, sy)
        segments = segments.map { $0.map { $0 * s } }
        keypoints = keypoints?.map { $0.map { SIMD3($0.x * sx, $0.y * sy, $0.z) } }
    }

    /// Clips boxes and polygons to the image; keypoints outside it become invisible, then are clipped.
    public mutating func clip(width: Float, height: Float) {
        boxes = boxes.map {
            Box(
                x1: min(max($0.x1, 0), width), y1: min(max($0.y1, 0), height),
                x2: min(max($0.x2, 0), width), y2: min(max($0.y2, 0), height))
        }
        let upper = SIMD2(width, height)
        segments = segments.map { $0.map { $0.clamped(lowerBound: .zero, upperBound: upper) } }
        keypoints = keypoints?.map {
            $0.map { p in
                let outside = p.x < 0 || p.x > width || p.y < 0 || p.y > height
                return SIMD3(min(max(p.x, 0), width), min(max(p.y, 0), height), outside ? 0 : p.z)
            }
        }
    }

    /// Keeps the objects where `keep` is true.
    public mutating func filter(_ keep: [Bool]) {
        precondition(keep.count == count)
        func kept<T>(_ values: [T]) -> [T] { zip(values, keep).compactMap { $1 ? $0 : nil } }
        classes = kept(classes)
        boxes = kept(boxes)
        if !segments.isEmpty { segments = kept(segments) }
        keypoints = keypoints.map(kept)
    }

    /// Drops boxes without area (after clipping), as the reference's `remove_zero_area_boxes`.
    public mutating func removeEmptyBoxes() { filter(boxes.map { $0.area > 0 }) }

    /// Appends the objects of `other`. Polygons are kept only when both sides have them for every object.
    public mutating func append(_ other: ObjectLabels) {
        let bothPolygons = segments.count == count && other.segments.count == other.count
        classes += other.classes
        boxes += other.boxes
        segments = bothPolygons ? segments + other.segments : []
        if let mine = keypoints, let theirs = other.keypoints { keypoints = mine + theirs } else { keypoints = nil }
    }

    /// Mirrors left-right in an image `width` wide (keypoints reordered by `flipIndex` when given).
    public mutating func flipHorizontal(width: Float, flipIndex: [Int]? = nil) {
        boxes = boxes.map { Box(x1: width - $0.x2, y1: $0.y1, x2: width - $0.x1, y2: $0.y2) }
        segments = segments.map { $0.map { SIMD2(width - $0.x, $0.y) } }
        keypoints = keypoints?.map { object in
            let flipped = object.map { SIMD3(width - $0.x, $0.y, $0.z) }
            guard let flipIndex, flipIndex.count == flipped.count else { return flipped }
            return flipIndex.map { flipped[$0] }
        }
    }

    /// Mirrors upside down in an image `height` high.
    public mutating func flipVertical(height: Float, flipIndex: [Int]? = nil) {
        boxes = boxes.map { Box(x1: $0.x1, y1: height - $0.y2, x2: $0.x2, y2: height - $0.y1) }
        segments = segments.map { $0.map { SIMD2($0.x, height - $0.y) } }
        keypoints = keypoints?.map { object in
            let flipped = object.map { SIMD3($0.x, height - $0.y, $0.z) }
            guard let flipIndex, flipIndex.count == flipped.count else { return flipped }
            return flipIndex.map { flipped[$0] }
        }
    }
}
