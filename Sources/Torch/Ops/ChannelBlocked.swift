// oneDNN's channel-blocked layout for feature maps, as the training Conv block (`convBatchNormSiLU`) returns them:
// an NCHW map of C channels stored as (N, C/B, H, W, B), B = 8 on AVX2 and 16 on AVX-512, so that consecutive fused
// blocks hand it on without converting. H and W stay at dimensions 2 and 3; the operations below mean the same on it
// as on NCHW.

extension Tensor {
    /// Whether this is a channel-blocked feature map, (N, C/B, H, W, B).
    public var isChannelBlocked: Bool { ndim == 5 }

    /// The feature map as NCHW (itself when it already is).
    public func channelsFirst() throws -> Tensor {
        guard isChannelBlocked else { return self }
        let s = shape
        return try permute(0, 1, 4, 2, 3).reshape(s[0], s[1] * s[4], s[2], s[3])
    }

    /// Concatenation along channels: channel-blocked when every input is, else NCHW.
    public static func catChannels(_ maps: [Tensor]) throws -> Tensor {
        if maps.allSatisfy({ $0.isChannelBlocked && $0.size(4) == maps[0].size(4) }) { return try cat(maps, dim: 1) }
        return try cat(maps.map { try $0.channelsFirst() }, dim: 1)
    }

    /// `chunks` equal pieces along channels, in this layout when its blocks divide evenly.
    public func chunkChannels(_ chunks: Int) throws -> [Tensor] {
        if isChannelBlocked && size(1) % chunks != 0 { return try channelsFirst().chunk(chunks, dim: 1) }
        return try chunk(chunks, dim: 1)
    }

    /// Elementwise sum of two maps, channel-blocked when both are.
    public func addChannels(_ other: Tensor) throws -> Tensor {
        if isChannelBlocked == other.isChannelBlocked && shape == other.shape { return try self + other }
        return try channelsFirst() + other.channelsFirst()
    }

    /// A channel-independent spatial NCHW operation (pooling, upsampling) on a blocked map: each block is viewed as
    /// an 8-channel channels-last image batch, which libtorch's kernels take as is.
    func mapChannelBlocks(_ body: (Tensor) throws -> Tensor) throws -> Tensor {
        let s = shape
        let out = try body(reshape(s[0] * s[1], s[2], s[3], s[4]).permute(0, 3, 1, 2))
        return try out.permute(0, 2, 3, 1).reshape(s[0], s[1], out.size(2), out.size(3), s[4])
    }
}
