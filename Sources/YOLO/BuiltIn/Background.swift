import Foundation
import Vision

/// Textured backgrounds for the built-in dataset: a smooth colour gradient, soft blotches, fine grain and a few
/// straight lines, so that a detector has to learn shapes rather than "anything that is not flat".
enum Background {
    static func make(width: Int, height: Int, rng: inout SplitMixRandom) throws -> Image {
        // A 2x2 or 3x3 grid of muted colours blown up bilinearly: a gradient across the image.
        let cells = rng.int(2 ... 3)
        var grid: [UInt8] = []
        for _ in 0 ..< cells * cells {
            let c = hsvColor(hue: rng.unit(), saturation: rng.uniform(0.05, 0.45), value: rng.uniform(0.25, 0.9))
            grid += [c.b, c.g, c.r]
        }
        let base = try Image(bytes: grid, width: cells, height: cells).resized(width: width, height: height)

        // Blotches: low-resolution noise, upsampled smoothly, added around zero.
        let coarse = max(2, min(width, height) / 16)
        let blotchBytes = (0 ..< coarse * coarse * 3).map { _ in UInt8(rng.int(0 ... 255)) }
        let blotches = try Image(bytes: blotchBytes, width: coarse, height: coarse)
            .resized(width: width, height: height, interpolation: .cubic)
        let blotchAmount = rng.uniform(0.05, 0.25)
        let grain = rng.uniform(2, 14)

        // Grain: uniform noise of standard deviation `grain`, three channels from one 64-bit draw.
        let grainScale = grain * 3.0.squareRoot() * 2 / Double(1 << 21)
        base.withUnsafeMutableBytes { out in
            blotches.withUnsafeBytes { texture in
                var i = 0
                while i + 2 < out.count {
                    let bits = rng.next()
                    for c in 0 ..< 3 {
                        let uniform = Double((bits >> (21 * UInt64(c))) & 0x1F_FFFF)
                        let noise = uniform * grainScale - grain * 3.0.squareRoot()
                        let value = Double(out[i + c]) + (Double(texture[i + c]) - 128) * blotchAmount + noise
                        out[i + c] = UInt8(clamping: Int(value.rounded()))
                    }
                    i += 3
                }
            }
        }

        // Lines across the image, in colours of their own (drawn before the shapes, so shapes hide them).
        for _ in 0 ..< rng.int(0 ... 6) {
            let a = Point(rng.uniform(-0.2, 1.2) * Double(width), rng.uniform(-0.2, 1.2) * Double(height))
            let b = Point(rng.uniform(-0.2, 1.2) * Double(width), rng.uniform(-0.2, 1.2) * Double(height))
            let color = hsvColor(hue: rng.unit(), saturation: rng.uniform(0, 0.6), value: rng.uniform(0.2, 1))
            try base.drawLine(from: a, to: b, color: color, thickness: rng.int(1 ... 3))
        }
        return base
    }
}

/// A colour from hue, saturation and value, each in [0, 1].
func hsvColor(hue: Double, saturation s: Double, value v: Double) -> Color {
    let h = (hue - hue.rounded(.down)) * 6
    let i = Int(h) % 6, f = h - h.rounded(.down)
    let p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f))
    let (r, g, b): (Double, Double, Double) =
        switch i {
        case 0: (v, t, p)
        case 1: (q, v, p)
        case 2: (p, v, t)
        case 3: (p, q, v)
        case 4: (t, p, v)
        default: (v, p, q)
        }
    func byte(_ x: Double) -> UInt8 { UInt8(clamping: Int((x * 255).rounded())) }
    return Color(b: byte(b), g: byte(g), r: byte(r))
}
