import Foundation
import Torch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `yolo train device=0,1,...`: one child process of the same executable per device, with the variables torchrun
/// sets (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, a free MASTER_PORT), as the
/// reference launches `torch.distributed.run`. The children write to this process's standard output and error;
/// when one fails the others are stopped and the launch fails, naming the rank.
///
/// CUDA devices are required, as the reference's. YOLO_DDP_CPU=1 lets a machine without them run the ranks on
/// the CPU instead (to try a multi-process setup, or to test this launcher).
public enum DDPLauncher {
    /// The devices of a multi-device `device` value ("0,1", "cuda:0,1", [0, 1]); nil for one device or none.
    public static func devices(_ value: ConfigValue?) -> [String]? {
        var items: [String]
        switch value {
        case .string(let text)?:
            let body = text.lowercased().hasPrefix("cuda:") ? String(text.dropFirst(5)) : text
            items = body.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        case .list(let values)?: items = values.map { $0.int.map(String.init) ?? $0.description }
        default: return nil
        }
        items = items.filter { !$0.isEmpty }
        return items.count > 1 ? items : nil
    }

    /// The devices this process should launch one rank each on, or nil: several devices in `device` (when resuming,
    /// the resumed run's: `yolo train resume model=last.pt` of a `device=0,1` run relaunches its two ranks, as the
    /// reference's resume does), and this process not already a rank itself.
    public static func devicesToLaunch(
        _ config: Config, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [String]? {
        guard (environment["WORLD_SIZE"] ?? "").isEmpty else { return nil }
        guard let checkpoint = try Trainer.resumePath(config) else { return devices(config["device"]) }
        return devices(try DetectionModel.loadWithTrainingArguments(contentsOf: checkpoint).trainArgs["device"])
    }

    /// Runs `arguments` in one child per device and waits for all; throws when the devices are not there or a
    /// child fails.
    public static func launch(
        arguments: [String], devices: [String], executable: URL = currentExecutable(),
        environment: [String: String] = ProcessInfo.processInfo.environment, log: (String) -> Void = { print($0) }
    ) throws {
        let cpu = environment["YOLO_DDP_CPU"] == "1"
        if !cpu {
            let indices = devices.compactMap { Int($0) }
            guard indices.count == devices.count, Set(indices).count == indices.count else {
                throw ConfigError("device=\(devices.joined(separator: ",")) is not a list of distinct CUDA device indices")
            }
            let available = Device.cudaCount
            if let bad = indices.first(where: { $0 < 0 || $0 >= available }) {
                throw ConfigError("device=\(devices.joined(separator: ",")) asks for CUDA device \(bad), but libtorch sees "
                    + "\(available) CUDA device(s)\(available == 0 ? " (a CPU-only libtorch?)" : ""). Set YOLO_DDP_CPU=1 to run "
                    + "the ranks on the CPU, or set RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT for each process yourself.")
            }
        }
        try spawn(arguments, devices.count, executable, environment, log)
    }

    private static func spawn(
        _ arguments: [String], _ worldSize: Int, _ executable: URL, _ environment: [String: String],
        _ log: (String) -> Void
    ) throws {
        let port = try freePort()
        log("DDP: launching \(worldSize) ranks of \(executable.path) with MASTER_ADDR=127.0.0.1 MASTER_PORT=\(port)")
        fflush(nil)  // before the children's lines
        var children: [Process] = []
        defer { for child in children where child.isRunning { child.terminate() } }
        for rank in 0..<worldSize {
            let child = Process()
            child.executableURL = executable
            child.arguments = arguments
            var env = environment
            env["RANK"] = "\(rank)"
            env["LOCAL_RANK"] = "\(rank)"
            env["WORLD_SIZE"] = "\(worldSize)"
            env["LOCAL_WORLD_SIZE"] = "\(worldSize)"
            env["MASTER_ADDR"] = "127.0.0.1"
            env["MASTER_PORT"] = "\(port)"
            if env["OMP_NUM_THREADS"] == nil {  // the cores shared among the ranks (torchrun sets 1)
                env["OMP_NUM_THREADS"] = "\(max(1, ProcessInfo.processInfo.activeProcessorCount / worldSize))"
            }
            child.environment = env
            do { try child.run() } catch {
                throw DistributedError("DDP: cannot start rank \(rank) (\(executable.path)): \(error)")
            }
            children.append(child)
        }
        // Ctrl-C reaches the children from the terminal; a SIGINT or SIGTERM sent to this process alone is passed on.
        forwarded = 0
        signal(SIGINT) { _ in DDPLauncher.forwarded = SIGINT }
        signal(SIGTERM) { _ in DDPLauncher.forwarded = SIGTERM }
        defer { signal(SIGINT, SIG_DFL); signal(SIGTERM, SIG_DFL) }
        var failed: (rank: Int, status: Int32)?
        while children.contains(where: \.isRunning) {
            if forwarded != 0 {
                for child in children where child.isRunning { kill(child.processIdentifier, forwarded) }
                forwarded = 0
            }
            if failed == nil, let rank = children.firstIndex(where: { !$0.isRunning && $0.terminationStatus != 0 }) {
                failed = (rank, children[rank].terminationStatus)
                for child in children where child.isRunning { child.terminate() }  // stops the others' training
            }
            usleep(50_000)
        }
        if failed == nil, let rank = children.firstIndex(where: { $0.terminationStatus != 0 }) {
            failed = (rank, children[rank].terminationStatus)
        }
        if let failed {
            let how = children[failed.rank].terminationReason == .uncaughtSignal ? "was killed by signal" : "exited with status"
            throw DistributedError("DDP: rank \(failed.rank) of \(worldSize) \(how) \(failed.status); the other ranks were stopped")
        }
    }

    nonisolated(unsafe) static var forwarded: Int32 = 0

    /// This program's file.
    public static func currentExecutable() -> URL {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        #endif
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    }

    /// A TCP port free on 127.0.0.1, below the ephemeral range as the reference picks it (an ephemeral one can be
    /// handed to an outgoing connection before the ranks bind it).
    static func freePort() throws -> Int {
        func bindable(_ port: UInt16) -> UInt16? {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { return nil }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            return UInt16(bigEndian: address.sin_port)
        }
        for _ in 0..<10 {
            if let port = bindable(UInt16.random(in: 10000..<32768)) { return Int(port) }
        }
        guard let port = bindable(0) else { throw ConfigError("DDP: no free TCP port on 127.0.0.1") }
        return Int(port)
    }
}
