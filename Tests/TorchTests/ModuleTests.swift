import Torch
import XCTest

/// A small network shaped like YOLO's blocks, to check names, order and modes.
final class ConvBlock: Module, UnaryLayer {
    let conv: Conv2d
    let bn: BatchNorm2d
    init(_ c1: Int, _ c2: Int) throws {
        conv = try Conv2d(c1, c2, kernelSize: 3, padding: 1, bias: false)
        bn = try BatchNorm2d(c2, eps: 1e-3, momentum: 0.03)
    }
    func callAsFunction(_ x: Tensor) throws -> Tensor { try bn(conv(x)).silu() }
}

final class TinyNet: Module {
    let model: Sequential
    let heads: [ConvBlock]
    let extra: Conv2d?
    init(width: Int = 4) throws {
        model = Sequential([try ConvBlock(3, 4), MaxPool2d(kernelSize: 2), Upsample(scaleFactor: 2), try ConvBlock(4, 4)])
        heads = [try ConvBlock(4, 2), try ConvBlock(4, 2)]
        extra = nil
    }
}

final class ModuleTests: XCTestCase {
    func testStateDictNamesFollowPyTorchOrder() throws {
        let names = try TinyNet().stateDict().map(\.0)
        let block = ["conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
        let expected = ["model.0", "model.3", "heads.0", "heads.1"].flatMap { p in block.map { "\(p).\($0)" } }
        XCTAssertEqual(names, expected)
        XCTAssertEqual(try TinyNet().namedParameters().count, 12)
        XCTAssertEqual(try TinyNet().namedBuffers().count, 12)
    }

    func testForwardTrainEvalAndRunningStatistics() throws {
        let net = try TinyNet()
        let x = try Tensor.randn([2, 3, 8, 8])
        let y = try net.model(x)
        XCTAssertEqual(y.shape, [2, 4, 8, 8])
        let bn = (net.model.layers[0] as! ConvBlock).bn
        XCTAssertEqual(try bn.numBatchesTracked.item(), 1)
        XCTAssertFalse(try bn.runningMean.eq(0).all().item() == 1, "training forward must update running mean")
        net.eval()
        XCTAssertFalse(bn.isTraining)
        let mean = try bn.runningMean.clone()
        let a = try net.model(x), b = try net.model(x)
        XCTAssertTrue(try a.equal(b))
        XCTAssertTrue(try bn.runningMean.equal(mean), "eval forward must not touch running statistics")
        net.train()
        XCTAssertTrue(bn.isTraining)
    }

    func testLoadStateDictCopiesValuesAndChecksKeysAndShapes() throws {
        let source = try TinyNet(), target = try TinyNet()
        try target.loadStateDict(source.stateDict())
        for ((name, a), (_, b)) in zip(source.stateDict(), target.stateDict()) {
            XCTAssertTrue(try a.equal(b), name)
        }
        var partial = source.stateDict()
        partial.removeLast()
        let missing = expectTorchError { try target.loadStateDict(partial) }
        XCTAssertTrue(missing?.message.contains("heads.1.bn.num_batches_tracked") ?? false, missing?.message ?? "")
        XCTAssertNoThrow(try target.loadStateDict(partial, strict: false))
        var wrongShape = source.stateDict()
        wrongShape[0].1 = try Tensor.zeros([1])
        let shape = expectTorchError { try target.loadStateDict(wrongShape) }
        XCTAssertTrue(shape?.message.contains("model.0.conv.weight") ?? false)
    }

    func testConvolutionInitialisationBoundsAndGradients() throws {
        let conv = try Conv2d(16, 8, kernelSize: 3)
        let bound = 1 / (16.0 * 9).squareRoot()
        XCTAssertLessThanOrEqual(try conv.weight.abs().amax().item(), bound)
        XCTAssertGreaterThan(try conv.weight.abs().amax().item(), bound * 0.9)
        XCTAssertTrue(conv.weight.requiresGrad)
        let sgd = try SGD(conv.parameters(), lr: 0.1)
        try conv(try Tensor.randn([1, 16, 5, 5])).sum().backward()
        let before = try conv.weight.clone()
        try sgd.step()
        XCTAssertFalse(try conv.weight.equal(before))
    }

    func testModuleToConvertsFloatingTensorsOnly() throws {
        let net = try TinyNet()
        try net.to(dtype: .float64)
        let bn = (net.model.layers[0] as! ConvBlock).bn
        XCTAssertEqual(bn.weight.dtype, .float64)
        XCTAssertEqual(bn.numBatchesTracked.dtype, .int64)
        XCTAssertTrue(bn.weight.requiresGrad)
        XCTAssertEqual(try net.model(Tensor.randn([1, 3, 4, 4], dtype: .float64)).dtype, .float64)
    }
}
