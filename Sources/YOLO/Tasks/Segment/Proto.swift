import Torch

/// Mask prototypes from the P3 features: a 3×3 Conv, a ×2 transposed convolution, a 3×3 Conv and a 1×1 Conv to
/// `c2` prototypes at stride 4 (the reference's `Proto`; names follow its state dict).
final class Proto: Module, UnaryLayer {
    let cv1: Conv
    let upsample: ConvTranspose2d
    let cv2: Conv, cv3: Conv

    init(_ c1: Int, hidden: Int = 256, prototypes c2: Int = 32) throws {
        cv1 = try Conv(c1, hidden, k: 3)
        upsample = try ConvTranspose2d(hidden, hidden, kernelSize: 2, stride: 2)
        cv2 = try Conv(hidden, hidden, k: 3)
        cv3 = try Conv(hidden, c2)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor { try cv3(cv2(upsample(cv1(x)))) }
}
