import Foundation
import Torch

/// Where this process stands in a multi-process (DDP) training, from the variables torchrun sets and
/// `yolo train device=0,1` sets for its children: RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT.
/// YOLO_DDP_TIMEOUT (seconds) bounds the rendezvous and each collective; by default the rendezvous waits 30
/// minutes for every rank and a collective 3 hours (the reference's), so rank 0 can validate while the others wait.
public struct DistributedEnvironment: Equatable, Sendable {
    public var rank: Int
    public var localRank: Int
    public var worldSize: Int
    public var masterAddress: String
    public var masterPort: Int
    public var connectTimeout: Double = 1800
    public var timeout: Double = 10800

    public init(rank: Int, localRank: Int? = nil, worldSize: Int, masterAddress: String = "127.0.0.1", masterPort: Int,
                timeout: Double? = nil) {
        (self.rank, self.localRank, self.worldSize) = (rank, localRank ?? rank, worldSize)
        (self.masterAddress, self.masterPort) = (masterAddress, masterPort)
        if let timeout { (connectTimeout, self.timeout) = (timeout, timeout) }
    }

    /// The environment's setting; nil when WORLD_SIZE is unset or 1 (a single process).
    public static func from(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> DistributedEnvironment?
    {
        guard let world = environment["WORLD_SIZE"], !world.isEmpty else { return nil }
        func number(_ key: String) throws -> Int {
            guard let text = environment[key], !text.isEmpty else {
                throw ConfigError("WORLD_SIZE=\(world) asks for distributed training, but \(key) is not set "
                    + "(set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT, as torchrun does)")
            }
            guard let value = Int(text) else { throw ConfigError("\(key)=\(text) is not a whole number") }
            return value
        }
        let worldSize = try number("WORLD_SIZE")
        guard worldSize > 1 else { return nil }
        let rank = try number("RANK")
        guard (0..<worldSize).contains(rank) else {
            throw ConfigError("RANK=\(rank) must be in 0..<WORLD_SIZE (\(worldSize))")
        }
        let port = try number("MASTER_PORT")
        guard let address = environment["MASTER_ADDR"], !address.isEmpty else {
            throw ConfigError("WORLD_SIZE=\(worldSize) asks for distributed training, but MASTER_ADDR is not set")
        }
        var timeout: Double?
        if let text = environment["YOLO_DDP_TIMEOUT"], !text.isEmpty {
            guard let seconds = Double(text), seconds > 0 else {
                throw ConfigError("YOLO_DDP_TIMEOUT=\(text) is not a positive number of seconds")
            }
            timeout = seconds
        }
        let localRank = environment["LOCAL_RANK"].flatMap { Int($0) } ?? rank
        return DistributedEnvironment(rank: rank, localRank: localRank, worldSize: worldSize, masterAddress: address,
                                      masterPort: port, timeout: timeout)
    }

    /// Joins the group (every rank must).
    func join() throws -> ProcessGroup {
        do {
            return try ProcessGroup(masterAddress: masterAddress, masterPort: masterPort, rank: rank,
                                    worldSize: worldSize, connectTimeout: connectTimeout, timeout: timeout)
        } catch {
            throw DistributedError("DDP: \(error)")
        }
    }
}

/// A distributed training that cannot go on: a rank that cannot join, fails or drifts from rank 0.
public struct DistributedError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What the ranks of a training agree on, with rank 0's word final: a group of one needs no messages.
struct TrainingGroup {
    let group: ProcessGroup?
    var rank: Int { group?.rank ?? 0 }
    var worldSize: Int { group?.worldSize ?? 1 }
    var isMain: Bool { rank == 0 }

    /// Every rank takes rank 0's weights and buffers (the reference's DDP wrap does this), so all start equal.
    func broadcastState(_ model: Module) throws {
        try group?.broadcast(model.stateDict().map(\.1))
    }

    /// Each trainable parameter's gradient becomes the mean over the ranks (one allreduce for all).
    func averageGradients(_ parameters: [Tensor]) throws {
        try group?.averageGradients(parameters)
    }

    /// Whether any rank asks to stop (one small allreduce): a stop, Ctrl-C or time limit seen by one rank ends the
    /// epoch on every rank at the same batch.
    func anyRank(_ flags: [Bool]) throws -> [Bool] {
        guard let group else { return flags }
        let t = try Tensor(flags.map { Float($0 ? 1 : 0) })
        try group.allReduce([t])
        return try t.toArray(Float.self).map { $0 > 0 }
    }

    /// Rank 0's integers on every rank.
    func fromMain(_ values: [Int]) throws -> [Int] {
        guard let group else { return values }
        let t = try Tensor(values.map(Int64.init))
        try group.broadcast([t])
        return try t.toArray(Int64.self).map { Int($0) }
    }

    /// Rank 0's text on every rank (its UTF-8 bytes, after their count).
    func fromMain(_ text: String) throws -> String {
        guard group != nil else { return text }
        let count = try fromMain([text.utf8.count])[0]
        let bytes = try fromMain(isMain ? text.utf8.map { Int($0) } : Array(repeating: 0, count: count))
        return String(decoding: bytes.map { UInt8($0) }, as: UTF8.self)
    }

    /// The number of ranks whose state differs from rank 0's (bitwise), known to every rank.
    func ranksDiffering(_ model: Module) throws -> Int {
        guard let group else { return 0 }
        let mine = model.stateDict().map(\.1)
        let main = try mine.map { try $0.clone() }
        try group.broadcast(main)
        let differs = try zip(mine, main).contains { try !$0.equal($1) }
        let count = try Tensor([Float(differs ? 1 : 0)])
        try group.allReduce([count])
        return Int(try count.item())
    }

    func barrier() throws { try group?.barrier() }
}
