import CTorch

/// Where a tensor lives. Asking for a device this libtorch cannot reach throws when a tensor is placed there.
public enum Device: Equatable, Hashable, Sendable, CustomStringConvertible {
    case cpu
    case cuda(Int)
    case mps

    var code: (kind: Int32, index: Int32) {
        switch self {
        case .cpu: (Int32(CT_CPU), 0)
        case .cuda(let i): (Int32(CT_CUDA), Int32(i))
        case .mps: (Int32(CT_MPS), 0)
        }
    }

    init(kind: Int32, index: Int32) {
        switch kind {
        case Int32(CT_CUDA): self = .cuda(Int(index))
        case Int32(CT_MPS): self = .mps
        default: self = .cpu
        }
    }

    /// Whether this libtorch build and machine have the device.
    public var isAvailable: Bool {
        switch self {
        case .cpu: true
        case .cuda(let i): i >= 0 && i < Device.cudaCount
        case .mps: invariant(ct_mps_is_available()) != 0  // a query of the build: cannot fail but loudly
        }
    }

    /// Bytes libtorch's caching allocator holds on this device (`torch.cuda.memory_reserved`); 0 on the CPU and MPS.
    public var memoryReserved: Int {
        guard case .cuda(let i) = self else { return 0 }
        return Swift.max(Int(ct_cuda_memory_reserved(Int32(i))), 0)
    }

    /// Number of CUDA devices libtorch sees (0 on a CPU-only build).
    public static var cudaCount: Int { Int(invariant(ct_cuda_device_count())) }

    /// Parses the reference's device strings: "cpu", "mps", "0", "cuda", "cuda:1".
    public init(parsing text: String) throws {
        let t = text.lowercased()
        if t == "cpu" { self = .cpu; return }
        if t == "mps" { self = .mps; return }
        if t == "cuda" { self = .cuda(0); return }
        let index = t.hasPrefix("cuda:") ? String(t.dropFirst(5)) : t
        guard let i = Int(index), i >= 0 else {
            throw TorchError("invalid device '\(text)': expected cpu, mps, cuda, cuda:N or N")
        }
        self = .cuda(i)
    }

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .cuda(let i): "cuda:\(i)"
        case .mps: "mps"
        }
    }
}
