import CTorch

/// A group of processes that train together (libtorch's c10d: a TCPStore rendezvous and the Gloo backend, which
/// handles CPU and CUDA tensors). Every rank makes one with the same master address, port and world size; rank 0
/// hosts the rendezvous. Collectives block until every rank has called them (or the timeout passes, which throws).
///
///     let group = try ProcessGroup(masterAddress: "127.0.0.1", masterPort: 29500, rank: rank, worldSize: 2)
///     try group.broadcast(model.parameters())             // every rank starts from rank 0's weights
///     try loss.backward()
///     try group.averageGradients(model.parameters())      // what DistributedDataParallel does after backward
public final class ProcessGroup: @unchecked Sendable {
    let handle: OpaquePointer
    public let rank: Int
    public let worldSize: Int

    /// - Parameters:
    ///   - connectTimeout: seconds to wait for the rendezvous (every rank must join by then).
    ///   - timeout: seconds a collective may wait for the other ranks.
    public init(
        masterAddress: String, masterPort: Int, rank: Int, worldSize: Int, connectTimeout: Double = 1800,
        timeout: Double = 10800
    ) throws {
        guard let h = ct_dist_init(masterAddress, Int32(clamping: masterPort), Int32(clamping: rank),
                                   Int32(clamping: worldSize), Int64(connectTimeout * 1000), Int64(timeout * 1000))
        else { throw TorchError.last() }
        (handle, self.rank, self.worldSize) = (h, rank, worldSize)
    }
    deinit { ct_dist_free(handle) }

    /// Sums `tensors` over the ranks in place, then multiplies them by `scale` (one collective per dtype and device).
    public func allReduce(_ tensors: [Tensor], scale: Double = 1) throws {
        let handles: [OpaquePointer?] = tensors.map { $0.handle }
        try check(ct_dist_allreduce(handle, handles, Int32(handles.count), scale))
    }

    /// Replaces each parameter's gradient by its mean over the ranks (a parameter with no gradient counts as zeros).
    public func averageGradients(_ parameters: [Tensor]) throws {
        let handles: [OpaquePointer?] = parameters.map { $0.handle }
        try check(ct_dist_allreduce_grads(handle, handles, Int32(handles.count), 1 / Double(worldSize)))
    }

    /// Overwrites `tensors` on every rank with rank `root`'s values.
    public func broadcast(_ tensors: [Tensor], from root: Int = 0) throws {
        let handles: [OpaquePointer?] = tensors.map { $0.handle }
        try check(ct_dist_broadcast(handle, handles, Int32(handles.count), Int32(clamping: root)))
    }

    /// Rank `root`'s flag on every rank.
    public func broadcast(_ flag: Bool, from root: Int = 0) throws -> Bool {
        let t = try Tensor([Int32(flag ? 1 : 0)])
        try broadcast([t], from: root)
        return try t.item() != 0
    }

    /// Waits until every rank has reached it.
    public func barrier() throws { try check(ct_dist_barrier(handle)) }
}
