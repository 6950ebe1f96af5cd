import Foundation
import Torch

/// The device a run works on, from its `device` argument, as the reference's `select_device`: none picks the first
/// CUDA device when libtorch sees one and the CPU otherwise; `cpu`, `mps`, `0`, `cuda:1`, `0,1` (a DDP rank takes
/// the one at its `LOCAL_RANK`); a CUDA device that is not there is an error naming what is.
public struct DeviceSelection: Equatable {
    /// The canonical request, as the reference's `parse_device`: "", "cpu", "mps" or CUDA indices "0,1".
    public let request: String
    /// Where this process works.
    public let device: Device

    /// What libtorch sees, as arguments so that tests can ask for machines this one is not.
    public struct Machine {
        public var cudaCount: Int
        public var mpsAvailable: Bool
        public var visibleDevices: String?
        public static var current: Machine {
            Machine(cudaCount: Device.cudaCount, mpsAvailable: Device.mps.isAvailable,
                    visibleDevices: ProcessInfo.processInfo.environment["CUDA_VISIBLE_DEVICES"])
        }
    }

    /// `value`: the `device` argument (a string, an index or a list of them); `localRank`: this DDP rank's;
    /// `cpuRanks`: DDP ranks on the CPU (YOLO_DDP_CPU=1), whatever indices `device` names.
    public init(_ value: ConfigValue?, localRank: Int? = nil, cpuRanks: Bool = false, machine: Machine = .current) throws {
        request = Self.parse(value)
        if request == "cpu" || (cpuRanks && localRank != nil) {
            device = .cpu
            return
        }
        if request == "mps" || request == "mps:0" {
            device = machine.mpsAvailable ? .mps : .cpu  // the reference falls back to the CPU without a word
            return
        }
        if request.isEmpty {
            device = machine.cudaCount > 0 ? .cuda(localRank ?? 0) : .cpu
            return
        }
        let indices = request.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard indices.allSatisfy({ $0.map { $0 >= 0 && $0 < machine.cudaCount } ?? false }) else {
            throw ConfigError(Self.invalidMessage(request, machine))
        }
        let devices = indices.map { $0! }
        device = .cuda(devices.count > 1 ? devices[Swift.min(localRank ?? 0, devices.count - 1)] : devices[0])
    }

    /// The reference's `parse_device`: lower case, "cuda:" and brackets, quotes and spaces dropped ("cuda:0" -> "0",
    /// [0, 1] -> "0,1"), "cuda" -> "0", none -> "".
    public static func parse(_ value: ConfigValue?) -> String {
        let text: String
        switch value {
        case nil, .null?: return ""
        case .int(let i)?: text = String(i)
        case .list(let items)?: text = items.map { $0.int.map(String.init) ?? $0.description }.joined(separator: ",")
        case let other?: text = other.description
        }
        var device = text.lowercased()
        for remove in ["cuda:", "none", "(", ")", "[", "]", "'", " "] { device = device.replacingOccurrences(of: remove, with: "") }
        return device == "cuda" ? "0" : device
    }

    static func invalidMessage(_ request: String, _ machine: Machine) -> String {
        let available = machine.cudaCount == 0
            ? "libtorch sees no CUDA device (a CPU-only libtorch, or no GPU and driver here): build against a CUDA "
                + "libtorch (README: Another libtorch) to train on a GPU."
            : "libtorch sees \(machine.cudaCount) CUDA device(s): "
                + (0..<machine.cudaCount).map { "\($0)" }.joined(separator: ", ") + "."
        return "Invalid CUDA 'device=\(request)' requested. Use 'device=cpu' or pass valid CUDA device(s) if available, "
            + "i.e. 'device=0' or 'device=0,1,2,3' for Multi-GPU.\n\n"
            + "CUDA available: \(machine.cudaCount > 0)\nCUDA device count: \(machine.cudaCount)\n"
            + "CUDA_VISIBLE_DEVICES: \(machine.visibleDevices ?? "None")\n" + available
    }
}
