import Vision

/// Resize keeping the aspect ratio, then pad to the target shape with grey (the reference's `LetterBox`).
/// Used for validation and prediction; the same arithmetic (Python's round-half-to-even included) gives the same
/// pixels as the reference.
public struct Letterbox: Sendable {
    /// The target height and width.
    public var shape: ImageShape
    /// Pad only up to a multiple of `stride` (the smallest rectangle the network accepts) instead of to `shape`.
    public var auto = false
    /// Stretch to `shape` without keeping the aspect ratio.
    public var scaleFill = false
    /// Allow enlarging; validation turns it off (only shrink).
    public var scaleUp = true
    /// Centre the image; otherwise place it top-left.
    public var center = true
    public var stride = 32
    public var padValue: UInt8 = 114
    public var interpolation: Interpolation = .linear

    public init(
        shape: ImageShape, auto: Bool = false, scaleFill: Bool = false, scaleUp: Bool = true, center: Bool = true,
        stride: Int = 32, padValue: UInt8 = 114
    ) {
        self.shape = shape
        self.auto = auto
        self.scaleFill = scaleFill
        self.scaleUp = scaleUp
        self.center = center
        self.stride = stride
        self.padValue = padValue
    }

    public init(size: Int) { self.init(shape: ImageShape(height: size, width: size)) }

    /// Where an image of `source` size goes.
    public struct Placement: Sendable, Equatable {
        /// Scale factors (width, height).
        public var ratioWidth: Double, ratioHeight: Double
        /// The resized image's size before padding.
        public var resized: ImageShape
        public var top: Int, bottom: Int, left: Int, right: Int
    }

    /// The reference's `get_params`, for an image of size `source` into `target` (default `shape`).
    public func placement(for source: ImageShape, target: ImageShape? = nil) -> Placement {
        let target = target ?? shape
        var r = min(Double(target.height) / Double(source.height), Double(target.width) / Double(source.width))
        if !scaleUp { r = min(r, 1) }
        var ratio = (w: r, h: r)
        var resized = ImageShape(
            height: max(Int((Double(source.height) * r).rounded(.toNearestOrEven)), 1),
            width: max(Int((Double(source.width) * r).rounded(.toNearestOrEven)), 1))
        var dw = Double(target.width - resized.width)
        var dh = Double(target.height - resized.height)
        if auto {
            dw = dw.truncatingRemainder(dividingBy: Double(stride))
            dh = dh.truncatingRemainder(dividingBy: Double(stride))
        } else if scaleFill {
            (dw, dh) = (0, 0)
            resized = target
            ratio = (Double(target.width) / Double(source.width), Double(target.height) / Double(source.height))
        }
        if center {
            dw /= 2
            dh /= 2
        }
        func round(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }
        return Placement(
            ratioWidth: ratio.w, ratioHeight: ratio.h, resized: resized,
            top: center ? round(dh - 0.1) : 0, bottom: round(dh + 0.1),
            left: center ? round(dw - 0.1) : 0, right: round(dw + 0.1))
    }

    /// The letterboxed image.
    public func apply(_ image: Image, target: ImageShape? = nil) throws -> Image {
        let p = placement(for: ImageShape(height: image.height, width: image.width), target: target)
        return try apply(image, placement: p)
    }

    func apply(_ image: Image, placement p: Placement) throws -> Image {
        var out = image
        if image.width != p.resized.width || image.height != p.resized.height {
            out = try image.resized(width: p.resized.width, height: p.resized.height, interpolation: interpolation)
        }
        if p.top == 0, p.bottom == 0, p.left == 0, p.right == 0 { return out === image ? try image.copy() : out }
        return try out.padded(
            top: p.top, bottom: p.bottom, left: p.left, right: p.right, value: Color(gray: padValue))
    }

    /// A sample letterboxed: its image, boxes, `resizedShape` and `ratioPad` updated.
    public func apply(_ sample: LabeledImage, target: ImageShape? = nil) throws -> LabeledImage {
        let p = placement(for: sample.shape, target: target)
        var out = sample
        out.image = try apply(sample.image, placement: p)
        out.labels.scale(x: Float(p.ratioWidth), y: Float(p.ratioHeight))
        out.labels.translate(dx: Float(p.left), dy: Float(p.top))
        out.resizedShape = target ?? shape
        out.ratioPad = RatioPad(
            ratioHeight: sample.ratioPad.ratioHeight * p.ratioHeight,
            ratioWidth: sample.ratioPad.ratioWidth * p.ratioWidth,
            padLeft: Double(p.left), padTop: Double(p.top))
        return out
    }
}
