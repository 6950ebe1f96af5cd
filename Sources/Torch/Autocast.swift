import CTorch

/// Automatic mixed precision, as `torch.autocast`: inside `run`, libtorch runs matrix products and convolutions in
/// `dtype` (float16 or bfloat16) and keeps reductions, losses and normalisations in float32.
public enum Autocast {
    /// Runs `body` with autocast on `device` (CPU or CUDA) in `dtype`; regions nest.
    public static func run<R>(on device: Device, dtype: DType, _ body: () throws -> R) throws -> R {
        let kind = device.code.kind
        try check(ct_autocast_enter(kind, dtype.rawValue))
        defer { _ = ct_autocast_exit(kind) }
        return try body()
    }

    /// Whether autocast is on for `device` here.
    public static func isEnabled(on device: Device) throws -> Bool { try answer(ct_autocast_enabled(device.code.kind)) }
}
