import Vision

/// A left-right or upside-down mirror with probability `p` (the reference's `RandomFlip`); pose keypoints are
/// reordered by `flipIndex` so that a left eye stays a left eye.
public struct RandomFlip: Sendable {
    public enum Direction: Sendable { case horizontal, vertical }

    public var p: Double
    public var direction: Direction
    public var flipIndex: [Int]?

    public init(p: Double, direction: Direction, flipIndex: [Int]? = nil) {
        self.p = p
        self.direction = direction
        self.flipIndex = flipIndex
    }

    public func apply(_ sample: LabeledImage, rng: inout SampleRNG) throws -> LabeledImage {
        guard rng.unit() < p else { return sample }  // the reference's random.random() < p
        var out = sample
        switch direction {
        case .horizontal:
            out.image = try sample.image.flipped(horizontal: true)
            out.labels.flipHorizontal(width: Float(sample.image.width), flipIndex: flipIndex)
        case .vertical:
            out.image = try sample.image.flipped(vertical: true)
            out.labels.flipVertical(height: Float(sample.image.height), flipIndex: flipIndex)
        }
        return out
    }
}
