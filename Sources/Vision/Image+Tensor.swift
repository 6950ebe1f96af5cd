import Torch

/// Images to and from Torch tensors, as the reference feeds its model:
/// `torch.from_numpy(im[..., ::-1].transpose(2, 0, 1)).float().div(255).unsqueeze(0)`.
extension Image {
    /// (H, W, C) uint8, channels in stored (BGR) order.
    public func hwcTensor() throws -> Tensor {
        try Tensor(bytes: bytes, shape: [height, width, channels], dtype: .uint8)
    }

    /// (1, 3, H, W) float32 in [0, 1]: RGB when `rgb` (the model's input), else BGR as stored.
    public func tensor(rgb: Bool = true) throws -> Tensor {
        guard channels == 3 else { throw VisionError("tensor: need a 3-channel image, got \(channels) channels") }
        let source = rgb ? try converted(to: .bgrToRGB) : self
        let chw = try source.hwcTensor().permute([2, 0, 1]).to(.float32)
        return try (chw / 255.0).contiguous().unsqueeze(0)
    }

    /// An image from a (3, H, W) or (1, 3, H, W) floating tensor in [0, 1] (RGB when `rgb`; scaled by 255,
    /// rounded and clamped), or from an (H, W, C) uint8 tensor in stored channel order (the inverse of hwcTensor).
    public convenience init(tensor: Tensor, rgb: Bool = true) throws {
        let shape = tensor.shape
        if tensor.dtype == .uint8 {
            guard shape.count == 3, [1, 3, 4].contains(shape[2]) else {
                throw VisionError("Image(tensor:): a uint8 tensor must be (H, W, C) with C 1, 3 or 4, got \(shape)")
            }
            try self.init(bytes: try tensor.toArray(UInt8.self), width: shape[1], height: shape[0], channels: shape[2])
            return
        }
        guard tensor.dtype.isFloatingPoint else {
            throw VisionError("Image(tensor:): need a floating or uint8 tensor, got \(tensor.dtype)")
        }
        var chw = tensor
        if shape.count == 4, shape[0] == 1 { chw = try tensor.squeeze(0) }
        guard chw.shape.count == 3, chw.shape[0] == 3 else {
            throw VisionError("Image(tensor:): a floating tensor must be (3, H, W) or (1, 3, H, W), got \(shape)")
        }
        if rgb { chw = try chw.flip([0]) }  // RGB -> BGR
        let scaled = try (chw.to(.float32) * 255.0).round().clamp(min: 0, max: 255)
        let hwc = try scaled.to(.uint8).permute([1, 2, 0]).contiguous()
        try self.init(bytes: try hwc.toArray(UInt8.self), width: chw.shape[2], height: chw.shape[1], channels: 3)
    }
}
