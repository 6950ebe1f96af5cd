import CTorch

/// Process-wide libtorch settings.
public enum Runtime {
    /// Intra-op thread count (libtorch's `set_num_threads`).
    public static var threads: Int {
        get { Int(ct_get_num_threads()) }
        set { ct_set_num_threads(Int32(newValue)) }
    }

    /// Seeds every libtorch generator (CPU and CUDA).
    public static func seed(_ value: UInt64) { ct_manual_seed(value) }

    /// The libtorch version this build links, e.g. "1.13.0".
    public static var torchVersion: String { String(cString: ct_torch_version()) }
}
