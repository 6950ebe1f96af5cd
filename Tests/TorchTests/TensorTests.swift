import Torch
import XCTest

final class TensorTests: XCTestCase {
    func testArrayRoundTripKeepsValuesShapeAndDType() throws {
        let t = try Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        XCTAssertEqual(t.shape, [2, 3])
        XCTAssertEqual(t.dtype, .float32)
        XCTAssertEqual(t.device, .cpu)
        XCTAssertEqual(try t.toArray(Float.self), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try Tensor([7, -8] as [Int64]).toArray(Int64.self), [7, -8])
        XCTAssertEqual(try Tensor([true, false]).toArray(Bool.self), [true, false])
        XCTAssertEqual(try Tensor([255, 0] as [UInt8]).toArray(UInt8.self), [255, 0])
        XCTAssertEqual(try Tensor([1.5, 2.5] as [Float16]).toArray(Float.self), [1.5, 2.5])
    }

    func testEveryDTypeConvertsAndReportsItsSize() throws {
        let source = try Tensor([0, 1, 2, 3] as [Float])
        for dtype in DType.allCases {
            let t = try source.to(dtype)
            XCTAssertEqual(t.dtype, dtype)
            XCTAssertEqual(try t.bytes().count, 4 * dtype.size)
            XCTAssertEqual(try t.toArray(Double.self), dtype == .bool ? [0, 1, 1, 1] : [0, 1, 2, 3], "\(dtype)")
        }
    }

    func testRawBytesAndBufferConstructors() throws {
        let t = try Tensor(bytes: [1, 2, 3, 4, 5, 6], shape: [1, 2, 3], dtype: .uint8)
        XCTAssertEqual(t.shape, [1, 2, 3])
        let floats: [Float] = [0.5, -1]
        let u = try floats.withUnsafeBytes { try Tensor(buffer: $0, shape: [2], dtype: .float32) }
        XCTAssertEqual(try u.toArray(Float.self), floats)
        XCTAssertNotNil(expectTorchError { _ = try Tensor(bytes: [1, 2, 3], shape: [2, 2], dtype: .uint8) })
        XCTAssertNotNil(expectTorchError { _ = try Tensor([1, 2, 3] as [Float], shape: [2, 2]) })
    }

    func testFactories() throws {
        XCTAssertEqual(try values(Tensor.zeros([2, 2])), [0, 0, 0, 0])
        XCTAssertEqual(try values(Tensor.ones([3], dtype: .int32)), [1, 1, 1])
        XCTAssertEqual(try values(Tensor.full([2], 7.5)), [7.5, 7.5])
        XCTAssertEqual(try values(Tensor.arange(0, 5)), [0, 1, 2, 3, 4])
        XCTAssertEqual(try Tensor.arange(0, 5).dtype, .int64)
        XCTAssertEqual(try values(Tensor.arange(1, 2, step: 0.25, dtype: .float32)), [1, 1.25, 1.5, 1.75])
        XCTAssertEqual(try values(Tensor.linspace(0, 1, steps: 5)), [0, 0.25, 0.5, 0.75, 1])
        XCTAssertEqual(try values(Tensor.eye(2, 3)), [1, 0, 0, 0, 1, 0])
        XCTAssertEqual(try Tensor.scalar(3).item(), 3)
        XCTAssertEqual(try values(Tensor.randperm(6).sort().values), [0, 1, 2, 3, 4, 5])
    }

    func testSeededRandomnessRepeatsAndHasTheRightDistribution() throws {
        Runtime.seed(42)
        let a = try Tensor.rand([1000])
        Runtime.seed(42)
        let b = try Tensor.rand([1000])
        XCTAssertTrue(try a.equal(b))
        XCTAssertEqual(try a.amin().item(), 0, accuracy: 0.01)
        XCTAssertLessThan(try a.amax().item(), 1)
        let n = try Tensor.randn([20000])
        XCTAssertEqual(try n.mean().item(), 0, accuracy: 0.05)
        XCTAssertEqual(try n.std().item(), 1, accuracy: 0.05)
        let r = try Tensor.randint(3, 6, [500])
        XCTAssertEqual(Set(try r.toArray(Int.self)), [3, 4, 5])
    }

    func testThreadCountCanBeSet() throws {
        let before = Runtime.threads
        Runtime.threads = 1
        XCTAssertEqual(Runtime.threads, 1)
        Runtime.threads = before
        XCTAssertFalse(Runtime.torchVersion.isEmpty)
    }

    func testViewsShareStorageAndReshape() throws {
        let t = try Tensor.arange(0, 24, dtype: .float32).reshape(2, 3, 4)
        XCTAssertEqual(try t.permute(2, 0, 1).shape, [4, 2, 3])
        XCTAssertEqual(try t.transpose(0, 2).shape, [4, 3, 2])
        XCTAssertEqual(try t.view(6, 4).shape, [6, 4])
        XCTAssertEqual(try t.flatten(start: 1).shape, [2, 12])
        XCTAssertEqual(try t.unsqueeze(0).shape, [1, 2, 3, 4])
        XCTAssertEqual(try t.unsqueeze(0).squeeze().shape, [2, 3, 4])
        XCTAssertEqual(try values(t.slice(dim: 2, start: 1, end: 3)[0][0]), [1, 2])
        XCTAssertEqual(try values(t.slice(dim: 2, start: 0, step: 2)[1][2]), [20, 22])
        XCTAssertEqual(try values(t.select(dim: 1, index: 2)[0]), [8, 9, 10, 11])
        XCTAssertEqual(try values(t[1][0..<2].flatten()), [12, 13, 14, 15, 16, 17, 18, 19])
        XCTAssertEqual(try values(t.narrow(dim: 2, start: 3, length: 1).flatten()), [3, 7, 11, 15, 19, 23])
        // A view shares storage: writing through it changes the original.
        let row = try t[0][0]
        try row.fill_(-1)
        XCTAssertEqual(try values(t[0][0]), [-1, -1, -1, -1])
        XCTAssertFalse(try t.transpose(0, 1).isContiguous)
        XCTAssertTrue(try t.transpose(0, 1).contiguous().isContiguous)
    }

    func testExpandRepeatFlip() throws {
        let t = try Tensor([1, 2] as [Float], shape: [2, 1])
        XCTAssertEqual(try values(t.expand([2, 3])), [1, 1, 1, 2, 2, 2])
        XCTAssertEqual(try values(t.repeated([1, 2])), [1, 1, 2, 2])
        XCTAssertEqual(try values(t.repeated([2, 1])), [1, 2, 1, 2])
        XCTAssertEqual(try values(Tensor.arange(0, 4).reshape(2, 2).flip([1])), [1, 0, 3, 2])
        XCTAssertEqual(try values(Tensor.arange(0, 4).reshape(2, 2).flip([0, 1])), [3, 2, 1, 0])
    }

    func testCatStackSplitChunk() throws {
        let a = try Tensor([1, 2] as [Float]), b = try Tensor([3, 4] as [Float])
        XCTAssertEqual(try values(Tensor.cat([a, b])), [1, 2, 3, 4])
        XCTAssertEqual(try Tensor.stack([a, b], dim: 1).shape, [2, 2])
        XCTAssertEqual(try values(Tensor.stack([a, b], dim: 1)), [1, 3, 2, 4])
        let t = try Tensor.arange(0, 10)
        XCTAssertEqual(try t.split([3, 7]).map { $0.shape }, [[3], [7]])
        XCTAssertEqual(try t.split(size: 4).map { try values($0) }, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        XCTAssertEqual(try t.chunk(3).map { $0.numel }, [4, 4, 2])
    }

    /// Channel cats of channels-last maps (and of their chunks), and cats of such maps flattened over their pixels
    /// (a head's levels), take the shim's copies: the same values as libtorch's cat of the NCHW copies.
    func testCatsOfChannelsLastMapsGiveLibtorchsValues() throws {
        let map = try Tensor.randn([2, 24, 5, 7]).contiguousChannelsLast()
        let halves = try map.chunk(2, dim: 1), other = try Tensor.randn([2, 8, 5, 7]).contiguousChannelsLast()
        let pieces = [halves[0], halves[1], other, halves[1]]
        let joined = try Tensor.cat(pieces, dim: 1), expected = try Tensor.cat(pieces.map { try $0.contiguous() }, dim: 1)
        XCTAssertEqual(joined.shape, [2, 44, 5, 7])
        XCTAssertEqual(try joined.toArray(Float.self), try expected.toArray(Float.self))
        XCTAssertEqual(try Tensor.cat([map, other], dim: -3).toArray(Float.self),
                       try Tensor.cat([map.contiguous(), other.contiguous()], dim: 1).toArray(Float.self))

        // Large enough to be split between threads: runs of pixels, and blocks of channels.
        let large = try Tensor.randn([1, 96, 40, 36]).contiguousChannelsLast().chunk(2, dim: 1)
        XCTAssertEqual(try Tensor.cat([large[1], large[0]], dim: 1).toArray(Float.self),
                       try Tensor.cat([large[1].contiguous(), large[0].contiguous()], dim: 1).toArray(Float.self))

        for (batch, c) in [(2, 16), (1, 51)] {
            let levels = try [[batch, c, 40, 32], [batch, c, 20, 16], [batch, c, 1, 2]].map { try Tensor.randn($0).contiguousChannelsLast() }
            let flat = try levels.map { try $0.reshape(batch, c, -1) }  // views: each pixel's c values adjacent
            let anchors = try Tensor.cat(flat, dim: -1)
            XCTAssertEqual(anchors.shape, [batch, c, 1602])
            XCTAssertTrue(anchors.isContiguous)
            XCTAssertEqual(try anchors.toArray(Float.self), try Tensor.cat(flat.map { try $0.contiguous() }, dim: 2).toArray(Float.self))
        }
        // Tensors that need gradients keep libtorch's cat (and its backward).
        let leaf = try Tensor.randn([1, 8, 4, 4]).contiguousChannelsLast().requiresGrad(true)
        try Tensor.cat([leaf, leaf], dim: 1).sum().backward()
        XCTAssertEqual(try XCTUnwrap(leaf.grad).toArray(Float.self), [Float](repeating: 2, count: 128))
    }

    func testIndexing() throws {
        let t = try Tensor([10, 20, 30, 40, 50, 60] as [Float], shape: [2, 3])
        let idx = try Tensor([2, 0] as [Int64])
        XCTAssertEqual(try values(t.indexSelect(dim: 1, index: idx)), [30, 10, 60, 40])
        XCTAssertEqual(try values(t.gather(dim: 1, index: Tensor([0, 2, 1, 1] as [Int64], shape: [2, 2]))), [10, 30, 50, 50])
        let scattered = try Tensor.zeros([2, 3]).scatter(
            dim: 1, index: Tensor([2, 0] as [Int64], shape: [2, 1]), source: Tensor([7, 8] as [Float], shape: [2, 1]))
        XCTAssertEqual(try values(scattered), [0, 0, 7, 8, 0, 0])
        let added = try Tensor.zeros([3]).scatter(
            dim: 0, index: Tensor([1, 1, 2] as [Int64]), source: Tensor([1, 2, 3] as [Float]), add: true)
        XCTAssertEqual(try values(added), [0, 3, 3])
        let mask = try t.gt(25)
        XCTAssertEqual(try values(t.maskedSelect(mask)), [30, 40, 50, 60])
        XCTAssertEqual(try values(t.maskedFill(mask, 0)), [10, 20, 0, 0, 0, 0])
        XCTAssertEqual(try values(t.nonzero()), [0, 0, 0, 1, 0, 2, 1, 0, 1, 1, 1, 2])
        XCTAssertEqual(try values(Tensor.where(mask, t, Tensor.full([2, 3], -1))), [-1, -1, 30, 40, 50, 60])
        // Advanced indexing: rows [1, 0], column 2; and a full slice on the first dimension.
        XCTAssertEqual(try values(t.index([Tensor([1, 0] as [Int64]), Tensor([2, 2] as [Int64])])), [60, 30])
        XCTAssertEqual(try values(t.index([nil, Tensor([0] as [Int64])])), [10, 40])
        let put = try t.indexPut([Tensor([0] as [Int64]), Tensor([1] as [Int64])], Tensor([5] as [Float]), accumulate: true)
        XCTAssertEqual(try values(put), [10, 25, 30, 40, 50, 60])
    }
}
