import CTorch

/// Process-wide libtorch settings.
public enum Runtime {
    /// Intra-op thread count (libtorch's `set_num_threads`).
    public static var threads: Int {
        get { Int(invariant(ct_get_num_threads())) }
        set {
            precondition(newValue > 0, "Runtime.threads must be positive, got \(newValue)")
            _ = invariant(ct_set_num_threads(Int32(newValue)))
        }
    }

    /// Seeds every libtorch generator (CPU and CUDA).
    public static func seed(_ value: UInt64) { _ = invariant(ct_manual_seed(value)) }

    /// The libtorch version this build links, e.g. "1.13.0".
    public static var torchVersion: String { String(cString: ct_torch_version()) }

    /// Where training's fused Conv block (`Tensor.convBatchNormSiLU`) stands in this build on this machine.
    public enum FusedConvBlock: Int32 {
        /// Built without it: no oneDNN 2.x headers at build time, or a libtorch other than the system one.
        case notBuilt = 0
        /// Built, but this CPU has no AVX2 or oneDNN lays convolutions out otherwise (nChw16c on AVX-512).
        case notOnThisCPU = 1
        /// It runs here.
        case active = 2
    }
    /// (A failure of the probe itself, which runs one small convolution, stops with libtorch's message.)
    public static var fusedConvBlock: FusedConvBlock { FusedConvBlock(rawValue: invariant(ct_conv_bn_silu_support()))! }

    /// Runs `body` with libtorch's profiler on, then writes every operator call it made as a Chrome trace (JSON,
    /// chrome://tracing or Perfetto) to `path`.
    public static func profile<R>(to path: String, _ body: () throws -> R) throws -> R {
        guard let session = ct_profile_start(path) else { throw TorchError.last() }
        let result = Result { try body() }
        try check(ct_profile_stop(session))  // writes the trace
        return try result.get()
    }
}
