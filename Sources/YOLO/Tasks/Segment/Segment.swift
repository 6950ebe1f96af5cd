import Torch

/// The segmentation head: Detect's box and class branches, plus per level a mask-coefficient branch (`cv4`) and
/// the prototypes (`proto`) computed from P3. Decoded output (batch, 4 + nc + nm, anchors): Detect's, then the
/// mask coefficients; the prototypes travel beside it in `HeadOutput.prototypes`.
final class Segment: Detect {
    let proto: Proto
    let cv4: [Sequential]
    let nm: Int

    init(nc: Int, masks nm: Int = 32, prototypeChannels npr: Int = 256, channels: [Int], regMax: Int = 16) throws {
        proto = try Proto(channels[0], hidden: npr, prototypes: nm)
        let c4 = Swift.max(channels[0] / 4, nm)
        cv4 = try channels.map { try Detect.branch($0, hidden: c4, out: nm) }
        self.nm = nm
        try super.init(nc: nc, channels: channels, regMax: regMax)
    }

    override var task: YOLOTask { .segment }
    override var extraChannels: Int { nm }

    override func head(_ features: [Tensor]) throws -> HeadOutput {
        var output = try super.head(features)
        output.maskCoefficients = try Detect.levels(cv4, features, channels: nm)
        output.prototypes = try proto(features[0]).channelsFirst()
        return output
    }

    override func decode(_ raw: HeadOutput) throws -> Tensor {
        guard let coefficients = raw.maskCoefficients else { throw ModelError("Segment: head output lacks mask coefficients") }
        return try Tensor.cat([super.decode(raw), coefficients], dim: 1)
    }
}
