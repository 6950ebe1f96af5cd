import Foundation

/// The CPU this process runs on: its model name and the vector extensions that decide which kernels run (oneDNN's
/// AVX2 or AVX-512 convolutions, the fused training Conv block, native bfloat16). Benchmarks print it beside their
/// figures; `yolo checks` shows it.
public struct CPUInfo: Equatable, Sendable, CustomStringConvertible {
    /// "AMD EPYC 7B13", "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"; "unknown CPU" where the system does not say.
    public let model: String
    /// The extensions among those that matter here, by their Linux flag names (avx2, fma, avx512f, avx512_bf16,
    /// amx_bf16).
    public let features: Set<String>

    static let relevant: [(flag: String, name: String)] = [
        ("avx2", "AVX2"), ("fma", "FMA"), ("avx512f", "AVX-512"), ("avx512_bf16", "AVX-512 BF16"), ("amx_bf16", "AMX BF16"),
    ]

    /// Whether the CPU computes in bfloat16 natively (AVX-512 BF16 or AMX), where bfloat16 autocast pays off.
    public var hasNativeBFloat16: Bool { features.contains("avx512_bf16") || features.contains("amx_bf16") }

    /// "AMD EPYC 7B13 (AVX2, FMA, AVX-512, AVX-512 BF16)".
    public var description: String {
        let names = Self.relevant.filter { features.contains($0.flag) }.map(\.name)
        return names.isEmpty ? model : "\(model) (\(names.joined(separator: ", ")))"
    }

    /// From the text of Linux's /proc/cpuinfo: the first processor's `model name` and `flags`.
    public init(cpuinfo: String) {
        var model: String?, flags: [Substring] = []
        for line in cpuinfo.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0] == "model name", model == nil { model = parts[1] }
            if parts[0] == "flags", flags.isEmpty { flags = parts[1].split(separator: " ") }
        }
        let wanted = Set(Self.relevant.map(\.flag))
        self.init(model: model ?? "unknown CPU", features: Set(flags.map(String.init).filter(wanted.contains)))
    }

    public init(model: String, features: Set<String>) {
        self.model = model
        self.features = features
    }

    /// This machine's CPU (Linux: /proc/cpuinfo; macOS: the brand string, with no feature flags).
    public static let current: CPUInfo = {
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) { return CPUInfo(cpuinfo: text) }
        #if os(macOS)
        var size = 0
        if sysctlbyname("machdep.cpu.brand_string", nil, &size, nil, 0) == 0, size > 0 {
            var bytes = [CChar](repeating: 0, count: size)
            if sysctlbyname("machdep.cpu.brand_string", &bytes, &size, nil, 0) == 0 {
                return CPUInfo(model: String(cString: bytes), features: [])
            }
        }
        #endif
        return CPUInfo(model: "unknown CPU", features: [])
    }()
}
