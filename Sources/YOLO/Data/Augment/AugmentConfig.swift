/// The training augmentation hyper-parameters, with the reference's names (as `key=value` words and YAML keys) and
/// defaults (ultralytics/cfg/default.yaml).
public struct AugmentConfig: Sendable, Equatable {
    /// HSV gains: each channel is scaled by a random factor in 1 ± gain (hue shifted by ± gain × 180).
    public var hsvH = 0.015
    public var hsvS = 0.7
    public var hsvV = 0.4
    /// Random perspective: rotation (± degrees), translation (± fraction of the image), scale (1 ± scale, or an
    /// explicit range), shear (± degrees), perspective (± fraction; 0–0.001 is typical).
    public var degrees = 0.0
    public var translate = 0.1
    public var scale = 0.5
    /// An explicit (min, max) scale factor range, when the reference's `scale` was given as a pair.
    public var scaleRange: ClosedRange<Double>?
    public var shear = 0.0
    public var perspective = 0.0
    /// Flip probabilities.
    public var flipud = 0.0
    public var fliplr = 0.5
    /// Probabilities of a mosaic of 4 images, of mixing in a second image, and the fraction of polygon objects
    /// copied and pasted mirrored (datasets with polygons only).
    public var mosaic = 1.0
    public var mixup = 0.0
    public var copyPaste = 0.0
    /// Mosaic, mixup and copy-paste stop for the last `closeMosaic` epochs.
    public var closeMosaic = 10

    public init() {}

    /// The reference's key for each field.
    public static let keys = [
        "hsv_h", "hsv_s", "hsv_v", "degrees", "translate", "scale", "shear", "perspective", "flipud", "fliplr",
        "mosaic", "mixup", "copy_paste", "close_mosaic",
    ]

    /// Defaults overridden by the entries of `values` whose keys are augmentation keys (others are ignored, so a
    /// whole training configuration can be passed). An ill-typed value is an error naming its key.
    public init(_ values: [String: ConfigValue]) throws {
        self.init()
        func number(_ key: String) throws -> Double? {
            guard let value = values[key], value != .null else { return nil }
            if let d = value.double { return d }
            if let s = value.string, let d = Double(s) { return d }
            throw DataError("'\(key)=\(value)' is invalid: expected a number")
        }
        if let v = try number("hsv_h") { hsvH = v }
        if let v = try number("hsv_s") { hsvS = v }
        if let v = try number("hsv_v") { hsvV = v }
        if let v = try number("degrees") { degrees = v }
        if let v = try number("translate") { translate = v }
        if let pair = values["scale"]?.list {
            guard pair.count == 2, let low = pair[0].double, let high = pair[1].double, low <= high else {
                throw DataError("'scale=\(values["scale"]!)' is invalid: expected a number or [min, max]")
            }
            scaleRange = low...high
        } else if let v = try number("scale") {
            scale = v
        }
        if let v = try number("shear") { shear = v }
        if let v = try number("perspective") { perspective = v }
        if let v = try number("flipud") { flipud = v }
        if let v = try number("fliplr") { fliplr = v }
        if let v = try number("mosaic") { mosaic = v }
        if let v = try number("mixup") { mixup = v }
        if let v = try number("copy_paste") { copyPaste = v }
        if let v = try number("close_mosaic") {
            guard v == v.rounded(), v >= 0 else {
                throw DataError("'close_mosaic=\(v)' is invalid: expected an integer >= 0")
            }
            closeMosaic = Int(v)
        }
        for (key, p) in [("flipud", flipud), ("fliplr", fliplr), ("mosaic", mosaic), ("mixup", mixup)]
        where !(0...1).contains(p) {
            throw DataError("'\(key)=\(p)' is invalid: a probability must be in [0, 1]")
        }
    }

    /// Parses `key=value` words, ignoring keys that are not augmentation keys.
    public init(words: [String]) throws {
        var values: [String: ConfigValue] = [:]
        for word in words {
            guard let eq = word.firstIndex(of: "=") else { throw DataError("'\(word)' is not key=value") }
            let key = String(word[..<eq])
            let text = String(word[word.index(after: eq)...])
            values[key] = (try? ConfigValue(yaml: text)) ?? .string(text)
        }
        try self.init(values)
    }

    /// The settings for epoch `epoch` (0-based) of `epochs`: mosaic, mixup and copy-paste off in the last
    /// `closeMosaic` epochs, as the reference's trainer closes them.
    public func forEpoch(_ epoch: Int, of epochs: Int?) -> AugmentConfig {
        guard let epochs, closeMosaic > 0, epoch >= epochs - closeMosaic else { return self }
        var closed = self
        closed.mosaic = 0
        closed.mixup = 0
        closed.copyPaste = 0
        return closed
    }

    /// The range scale factors are drawn from.
    public var scaleFactors: ClosedRange<Double> { scaleRange ?? (1 - scale)...(1 + scale) }
}
