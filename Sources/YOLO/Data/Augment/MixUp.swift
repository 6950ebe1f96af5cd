import Vision

/// Two augmented images blended with a Beta(32, 32) weight, their objects together (the reference's `MixUp`).
public enum MixUp {
    public static func apply(_ a: LabeledImage, _ b: LabeledImage, rng: inout SampleRNG) throws -> LabeledImage {
        guard a.image.width == b.image.width, a.image.height == b.image.height, a.image.channels == b.image.channels
        else { throw DataError("mixup: images differ in size: \(a.image) and \(b.image)") }
        let r = rng.beta(32, 32)
        let blended = try a.image.copy()
        blended.withUnsafeMutableBytes { out in
            b.image.withUnsafeBytes { other in
                for i in 0..<out.count {  // (a * r + b * (1 - r)).astype(uint8): truncation
                    out[i] = UInt8(Double(out[i]) * r + Double(other[i]) * (1 - r))
                }
            }
        }
        var out = a
        out.image = blended
        out.labels.append(b.labels)
        return out
    }
}
