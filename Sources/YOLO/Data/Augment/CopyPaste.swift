import Vision

/// Objects with polygons copied onto the image's own mirror image (the reference's `CopyPaste`, mode "flip"): the
/// mirrored copy of an object is pasted where it overlaps no existing object by 30% or more; `p` is the fraction of
/// such objects pasted, least overlapping first. Datasets without polygons are left as they are.
public struct CopyPaste: Sendable {
    public var p: Double

    public init(p: Double) { self.p = p }

    public func apply(_ sample: LabeledImage) throws -> LabeledImage {
        let labels = sample.labels
        guard p > 0, !labels.segments.isEmpty, labels.segments.count == labels.count else { return sample }
        let (w, h) = (sample.image.width, sample.image.height)
        var mirrored = labels
        mirrored.flipHorizontal(width: Float(w))
        // Intersection over the area of each existing box, for every mirrored box.
        let overlaps = mirrored.boxes.map { m in
            labels.boxes.map { box -> Float in
                let iw = max(min(m.x2, box.x2) - max(m.x1, box.x1), 0)
                let ih = max(min(m.y2, box.y2) - max(m.y1, box.y1), 0)
                return iw * ih / (box.area + 1e-7)
            }
        }
        let free = overlaps.indices.filter { overlaps[$0].allSatisfy { $0 < 0.3 } }
            .sorted { (overlaps[$0].max() ?? 0, $0) < (overlaps[$1].max() ?? 0, $1) }
        let selected = Array(free.prefix(Int((p * Double(free.count)).rounded(.toNearestOrEven))))
        guard !selected.isEmpty else { return sample }

        let mask = SegmentGeometry.fillMask(selected.map { mirrored.segments[$0] }, width: w, height: h)
        let flipped = try sample.image.flipped(horizontal: true)
        let image = try sample.image.copy()
        let c = image.channels
        image.withUnsafeMutableBytes { out in
            flipped.withUnsafeBytes { source in
                for i in 0..<(w * h) where mask[i] != 0 {
                    for k in 0..<c { out[i * c + k] = source[i * c + k] }
                }
            }
        }
        var out = sample
        out.image = image
        // Appended in the order of `selected`, as the reference does.
        let pasted = ObjectLabels(
            classes: selected.map { mirrored.classes[$0] }, boxes: selected.map { mirrored.boxes[$0] },
            segments: selected.map { mirrored.segments[$0] },
            keypoints: mirrored.keypoints.map { k in selected.map { k[$0] } })
        out.labels.append(pasted)
        return out
    }
}
