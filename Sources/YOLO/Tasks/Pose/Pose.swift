import Torch

/// The pose head: Detect's box and class branches, plus per level a keypoint branch (`cv4`) of K × dims values
/// per anchor (`kpt_shape` [K, dims]: x, y and, with dims 3, visibility). Decoded output (batch, 4 + nc + K·dims,
/// anchors): Detect's, then each keypoint's x, y in input pixels (2·raw + anchor − 0.5, times the stride) and its
/// visibility probability.
final class Pose: Detect {
    let cv4: [Sequential]
    let keypointShape: (count: Int, dims: Int)

    init(nc: Int, keypointShape: (count: Int, dims: Int), channels: [Int], regMax: Int = 16) throws {
        let nk = keypointShape.count * keypointShape.dims
        let c4 = Swift.max(channels[0] / 4, nk)
        cv4 = try channels.map { try Detect.branch($0, hidden: c4, out: nk) }
        self.keypointShape = keypointShape
        try super.init(nc: nc, channels: channels, regMax: regMax)
    }

    override var task: YOLOTask { .pose }
    override var extraChannels: Int { keypointShape.count * keypointShape.dims }

    override func head(_ features: [Tensor]) throws -> HeadOutput {
        var output = try super.head(features)
        output.keypoints = try Detect.levels(cv4, features, channels: extraChannels)
        return output
    }

    override func decode(_ raw: HeadOutput) throws -> Tensor {
        guard let keypoints = raw.keypoints else { throw ModelError("Pose: head output lacks keypoints") }
        let (anchors, strides) = try makeAnchors(raw.features, strides: stride)
        return try Tensor.cat([super.decode(raw), decodeKeypoints(keypoints, anchors: anchors, strides: strides)], dim: 1)
    }

    /// Raw keypoints (b, K·dims, anchors) → pixels and visibility probabilities, same shape.
    func decodeKeypoints(_ raw: Tensor, anchors: Tensor, strides: Tensor) throws -> Tensor {
        let (b, a) = (raw.size(0), raw.size(2))
        let (k, dims) = keypointShape
        let values = try raw.view(b, k, dims, a)
        let grid = try anchors.transpose(0, 1).view(1, 1, 2, a), step = try strides.transpose(0, 1).view(1, 1, 1, a)
        let xy = try (values.slice(dim: 2, end: 2) * 2 + (grid - 0.5)) * step
        let decoded = dims == 3 ? try Tensor.cat([xy, values.slice(dim: 2, start: 2).sigmoid()], dim: 2) : xy
        return try decoded.view(b, k * dims, a)
    }
}
