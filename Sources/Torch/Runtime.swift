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

    /// Whether 3x3 stride-1 convolutions may run by NNPACK's Winograd kernel (on by default). It applies where
    /// `winogradIsAvailable`, to float32 CPU convolutions of 32 or more channels over maps of 256 or more pixels: at
    /// inference outside autograd, and in training's Conv block (forward and input gradient) outside autocast; off,
    /// oneDNN's direct convolution runs them (the same values within float32 rounding).
    public static var winogradConvolutions: Bool {
        get { invariant(ct_winograd_enabled()) == 1 }
        set { ct_set_winograd_enabled(newValue) }
    }
    /// Whether this libtorch has NNPACK (pip's torch does, Debian's 1.13 does not) and this CPU runs it (AVX2 and
    /// FMA on x86).
    public static var winogradIsAvailable: Bool { invariant(ct_winograd_available()) == 1 }

    /// Seeds every libtorch generator (CPU and CUDA).
    public static func seed(_ value: UInt64) { _ = invariant(ct_manual_seed(value)) }

    /// The libtorch version this build links, e.g. "1.13.0".
    public static var torchVersion: String { String(cString: ct_torch_version()) }

    /// Where training's fused Conv block (`Tensor.convBatchNormSiLU`) stands in this build on this machine.
    public enum FusedConvBlock: Int32 {
        /// Built without it: no oneDNN 2.x headers at build time, or a libtorch other than the system one.
        case notBuilt = 0
        /// Built, but this CPU has no AVX2 or oneDNN lays convolutions out otherwise (neither nChw8c nor nChw16c).
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
