import Foundation
import Torch
import XCTest

/// The fused training Conv block (`convBatchNormSiLU`) against conv2d, batchNorm and silu composed in float64:
/// output, running statistics and every gradient, on shapes that cover pixel counts that are and are not multiples
/// of 8, strides 1 and 2, 1x1 and 3x3 kernels, an input without gradient (the image), and channels that make it
/// fall back to the composition.
final class ConvBlockTests: XCTestCase {
    override func setUp() { Runtime.seed(11) }

    struct Case {
        let input: [Int], outChannels: Int, kernel: Int, stride: Int, inputGrad: Bool
        var padding: Int { kernel / 2 }
    }

    func testMatchesConvBatchNormSiLUComposedInFloat64() throws {
        let cases = [
            Case(input: [4, 16, 12, 12], outChannels: 32, kernel: 3, stride: 1, inputGrad: true),
            Case(input: [2, 8, 9, 11], outChannels: 16, kernel: 3, stride: 2, inputGrad: true),  // 5x6: tail pixels
            Case(input: [3, 32, 7, 7], outChannels: 24, kernel: 1, stride: 1, inputGrad: true),
            Case(input: [2, 3, 20, 20], outChannels: 16, kernel: 3, stride: 2, inputGrad: false),  // the image layer
            Case(input: [2, 8, 6, 6], outChannels: 12, kernel: 3, stride: 1, inputGrad: true),  // 12: not fused
            // 399 pixels: the weight gradient by Winograd's F(4x4, 3x3), partial tiles on both sides
            Case(input: [2, 16, 19, 21], outChannels: 24, kernel: 3, stride: 1, inputGrad: true),
        ]
        // Every case whose output channels fill oneDNN's blocks (8 on AVX2, 16 on AVX-512) fuses where the block runs
        // here, none elsewhere.
        let block = try Self.blockWidth()
        for c in cases {
            let fused = try check(c)
            XCTAssertEqual(fused, Runtime.fusedConvBlock == .active && c.outChannels % block == 0,
                           "\(c), \(Runtime.fusedConvBlock), blocks of \(block)")
        }
    }

    /// In the fused block, 3x3 stride-1 convolutions of 16 or more channels over 256 or more pixels take the weight's
    /// gradient by Winograd's F(4x4, 3x3) from the channel-blocked maps (the composition's values:
    /// testMatchesConvBatchNormSiLUComposedInFloat64), and oneDNN's with Winograd convolutions off: the two differ in
    /// float32 rounding, so they are not equal where the fused block runs, on blocked and NCHW inputs.
    func testFusedBlockWeightGradientIsWinogradsWhereItApplies() throws {
        guard Runtime.fusedConvBlock == .active else { throw XCTSkip("the fused Conv block does not run here") }
        let enabled = Runtime.winogradConvolutions
        defer { Runtime.winogradConvolutions = enabled }
        let w = try Tensor.randn([32, 16, 3, 3]) * 0.2, gamma = try Tensor.ones([32]), beta = try Tensor.zeros([32])
        let nchw = try Tensor.randn([2, 16, 19, 21])
        let blocked8 = try nchw.reshape(2, 2, 8, 19, 21).permute(0, 1, 3, 4, 2).contiguous()
        let blocked16 = try nchw.reshape(2, 1, 16, 19, 21).permute(0, 1, 3, 4, 2).contiguous()
        for x in [nchw, blocked8, blocked16] {
            let gradient = { (winograd: Bool) throws -> [Float] in
                Runtime.winogradConvolutions = winograd
                let weight = try w.clone().requiresGrad(true)
                let out = try x.convBatchNormSiLU(
                    weight, stride: (1, 1), padding: (1, 1), bnWeight: gamma, bnBias: beta, runningMean: nil,
                    runningVar: nil, momentum: 0.03, eps: 1e-3)
                try (out.channelsFirst() * out.channelsFirst()).sum().backward()
                return try weight.grad!.contiguous().toArray(Float.self)
            }
            let (fast, direct) = (try gradient(true), try gradient(false))
            XCTAssertNotEqual(fast, direct, "the Winograd weight gradient did not run (input \(x.shape))")
            let scale = direct.map { Swift.abs($0) }.max() ?? 0
            assertClose(fast.map { Double($0) }, direct.map { Double($0) }, accuracy: 1e-4 * Double(scale), "input \(x.shape)")
        }
    }

    /// Where libtorch has NNPACK (pip's torch on AVX2), the block's 3x3 stride-1 convolutions of 32 or more channels
    /// over 256 or more pixels run its Winograd kernel forward and for the input's gradient: the same values and
    /// gradients as the composition, and (its float32 rounding differing from oneDNN's) not the output with it off.
    func testWinogradConvolutionInTheBlockMatchesComposition() throws {
        let enabled = Runtime.winogradConvolutions
        defer { Runtime.winogradConvolutions = enabled }
        Runtime.winogradConvolutions = true
        _ = try check(Case(input: [2, 32, 18, 20], outChannels: 40, kernel: 3, stride: 1, inputGrad: true))
        _ = try check(Case(input: [3, 48, 16, 16], outChannels: 32, kernel: 3, stride: 1, inputGrad: false))
        let x = try Tensor.randn([2, 32, 18, 20]), w = try Tensor.randn([40, 32, 3, 3]) * 0.1
        let gamma = try Tensor.ones([40]), beta = try Tensor.zeros([40])
        let block = { (winograd: Bool) throws -> [Float] in
            Runtime.winogradConvolutions = winograd
            let out = try x.convBatchNormSiLU(
                w.requiresGrad(true), stride: (1, 1), padding: (1, 1), bnWeight: gamma, bnBias: beta, runningMean: nil,
                runningVar: nil, momentum: 0.03, eps: 1e-3)
            return try out.detach().contiguous().toArray(Float.self)
        }
        let (fast, direct) = (try block(true), try block(false))
        XCTAssertEqual(fast.count, direct.count)
        if Runtime.winogradIsAvailable { XCTAssertNotEqual(fast, direct, "the Winograd kernel did not run") }
    }

    /// The Winograd weight gradient (weight_gradient.h) reads a channel slice of a map in place (C2f's chunks), takes
    /// channel counts that are not a multiple of its 8 lanes, partial 4x4 tiles and every padding the kernel runs:
    /// the composition's gradients for the weight and, through the slice, the map.
    func testWinogradGradientsOfAChannelSliceMatchComposition() throws {
        let enabled = Runtime.winogradConvolutions
        defer { Runtime.winogradConvolutions = enabled }
        Runtime.winogradConvolutions = true
        for padding in [0, 1, 2] {
            let map = try Tensor.randn([2, 72, 19, 21]), w = try Tensor.randn([36, 36, 3, 3]) * 0.3
            let gamma = try Tensor.rand([36]) + 0.5, beta = try Tensor.randn([36]) * 0.5
            let (leaf, weight) = (try map.clone().requiresGrad(true), try w.clone().requiresGrad(true))
            let out = try leaf.chunk(2, dim: 1)[1].convBatchNormSiLU(
                weight, stride: (1, 1), padding: (padding, padding), bnWeight: gamma, bnBias: beta, runningMean: nil,
                runningVar: nil, momentum: 0.03, eps: 1e-3)
            let probe = try Tensor.randn(out.shape)
            try (out * probe).sum().backward()

            let (leaf64, weight64) = (try map.to(.float64).requiresGrad(true), try w.to(.float64).requiresGrad(true))
            let expected = try leaf64.chunk(2, dim: 1)[1].conv2d(weight64, padding: (padding, padding)).batchNorm(
                weight: gamma.to(.float64), bias: beta.to(.float64), runningMean: nil, runningVar: nil, training: true,
                momentum: 0.03, eps: 1e-3
            ).silu()
            try (expected * probe.to(.float64)).sum().backward()
            try assertNear(out, expected, "output, padding \(padding)", file: #filePath, line: #line)
            try assertNear(weight.grad!, weight64.grad!, "weight gradient, padding \(padding)", file: #filePath, line: #line)
            try assertNear(leaf.grad!, leaf64.grad!, "map gradient, padding \(padding)", file: #filePath, line: #line)
        }
    }

    /// The fast path is demanded wherever it can run: a build with the fused block on a CPU with AVX2 and FMA (where
    /// oneDNN picks nChw8c, or nChw16c with AVX-512) must run it.
    func testFusedBlockRunsWhereTheCPUTakesIt() throws {
        let flags = Self.cpuFlags()
        guard Runtime.fusedConvBlock != .notBuilt else { throw XCTSkip("built without the fused Conv block") }
        guard flags.contains("avx2"), flags.contains("fma") else {
            throw XCTSkip("this CPU has no AVX2 and FMA (here \(Runtime.fusedConvBlock))")
        }
        XCTAssertEqual(Runtime.fusedConvBlock, .active)
    }

    /// The channels per block of the layout oneDNN picks here (16 on AVX-512, 8 on AVX2, or with
    /// ONEDNN_MAX_CPU_ISA=AVX2), read off a fused block's blocked output; 8 where the block does not run.
    private static func blockWidth() throws -> Int {
        let out = try Tensor.randn([2, 16, 8, 8]).convBatchNormSiLU(
            try Tensor.randn([16, 16, 3, 3]), stride: (1, 1), padding: (1, 1), bnWeight: try Tensor.ones([16]),
            bnBias: try Tensor.zeros([16]), runningMean: nil, runningVar: nil, momentum: 0.03, eps: 1e-3,
            channelBlockedOutput: true)
        return out.isChannelBlocked ? out.size(4) : 8
    }

    private static func cpuFlags() -> Set<Substring> {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        return Set(line.split(separator: " "))
    }

    /// Returns whether the fused node ran.
    private func check(_ c: Case, file: StaticString = #filePath, line: UInt = #line) throws -> Bool {
        let (s, p) = ((c.stride, c.stride), (c.padding, c.padding))
        let x = try Tensor.randn(c.input), w = try Tensor.randn([c.outChannels, c.input[1], c.kernel, c.kernel]) * 0.3
        let gamma = try Tensor.rand([c.outChannels]) + 0.5, beta = try Tensor.randn([c.outChannels]) * 0.5
        let mean0 = try Tensor.randn([c.outChannels]), var0 = try Tensor.rand([c.outChannels]) + 0.5

        // Fused, in float32.
        let leaves = try [x, w, gamma, beta].enumerated().map {
            try $0.element.clone().requiresGrad($0.offset > 0 || c.inputGrad)
        }
        let (rm, rv) = (try mean0.clone(), try var0.clone())
        let out = try leaves[0].convBatchNormSiLU(
            leaves[1], stride: s, padding: p, bnWeight: leaves[2], bnBias: leaves[3], runningMean: rm, runningVar: rv,
            momentum: 0.03, eps: 1e-3)
        let probe = try Tensor.randn(out.shape)
        try (out * probe).sum().backward()

        // Composed, in float64.
        let refs = try [x, w, gamma, beta].enumerated().map {
            try $0.element.to(.float64).requiresGrad($0.offset > 0 || c.inputGrad)
        }
        let (rm64, rv64) = (try mean0.to(.float64), try var0.to(.float64))
        let expected = try refs[0].conv2d(refs[1], stride: s, padding: p).batchNorm(
            weight: refs[2], bias: refs[3], runningMean: rm64, runningVar: rv64, training: true, momentum: 0.03,
            eps: 1e-3
        ).silu()
        try (expected * probe.to(.float64)).sum().backward()

        let name = "\(c)"
        try assertNear(out, expected, "output of \(name)", file: file, line: line)
        try assertNear(rm, rm64, "running mean of \(name)", file: file, line: line)
        try assertNear(rv, rv64, "running var of \(name)", file: file, line: line)
        for (i, label) in ["input", "weight", "gamma", "beta"].enumerated() where i > 0 || c.inputGrad {
            guard let got = leaves[i].grad, let want = refs[i].grad else {
                XCTFail("no \(label) gradient for \(name)", file: file, line: line)
                continue
            }
            try assertNear(got, want, "\(label) gradient of \(name)", file: file, line: line)
        }
        if !c.inputGrad { XCTAssertNil(leaves[0].grad, file: file, line: line) }
        return try x.convBatchNormSiLUIsFused(w, stride: s, padding: p)
    }

    /// Two blocks handing a channel-blocked map on (as the model's chains do), then back to NCHW: the same values
    /// and gradients as the composition.
    func testChannelBlockedChainMatchesComposition() throws {
        let x = try Tensor.randn([2, 16, 10, 10])
        let w1 = try Tensor.randn([16, 16, 3, 3]) * 0.2, w2 = try Tensor.randn([24, 16, 1, 1]) * 0.3
        let ones = try Tensor.ones([16]), zeros = try Tensor.zeros([16])
        let ones24 = try Tensor.ones([24]), zeros24 = try Tensor.zeros([24])
        func chain(_ xs: [Tensor], blocked: Bool) throws -> Tensor {
            let a = try xs[0].convBatchNormSiLU(
                xs[1], stride: (1, 1), padding: (1, 1), bnWeight: ones, bnBias: zeros, runningMean: nil,
                runningVar: nil, momentum: 0.03, eps: 1e-3, channelBlockedOutput: blocked)
            if try blocked && x.convBatchNormSiLUIsFused(w1, stride: (1, 1), padding: (1, 1)) {
                let block = try Self.blockWidth()
                XCTAssertEqual(a.shape, [2, 16 / block, 10, 10, block])
            }
            return try a.convBatchNormSiLU(
                xs[2], stride: (1, 1), padding: (0, 0), bnWeight: ones24, bnBias: zeros24, runningMean: nil,
                runningVar: nil, momentum: 0.03, eps: 1e-3, channelBlockedOutput: blocked
            ).channelsFirst()
        }
        let blocked = try [x, w1, w2].map { try $0.clone().requiresGrad(true) }
        let plain = try [x, w1, w2].map { try $0.clone().requiresGrad(true) }
        let a = try chain(blocked, blocked: true), b = try chain(plain, blocked: false)
        XCTAssertEqual(a.shape, [2, 24, 10, 10])
        let probe = try Tensor.randn(a.shape)
        try (a * probe).sum().backward()
        try (b * probe).sum().backward()
        try assertNear(a, b, "output", file: #filePath, line: #line)
        for i in 0..<3 { try assertNear(blocked[i].grad!, plain[i].grad!, "gradient \(i)", file: #filePath, line: #line) }
    }

    /// Pooling, upsampling, concatenation, chunks and sums on channel-blocked maps (blocks of 8 and of 16) equal the
    /// NCHW ones exactly.
    func testChannelOperationsOnBlockedMapsEqualNCHW() throws {
        let a = try Tensor.randn([2, 32, 6, 6]), b = try Tensor.randn([2, 32, 6, 6])
        func blocked(_ t: Tensor, _ block: Int) throws -> Tensor {  // NCHW -> (N, C/B, H, W, B)
            let s = t.shape
            return try t.reshape(s[0], s[1] / block, block, s[2], s[3]).permute(0, 1, 3, 4, 2).contiguous()
        }
        for block in [8, 16] {
            let (ab, bb) = (try blocked(a, block), try blocked(b, block))
            XCTAssertTrue(ab.isChannelBlocked)
            XCTAssertTrue(try ab.channelsFirst().equal(a))
            let pooled = try ab.maxPool2d(kernel: (5, 5), stride: (1, 1), padding: (2, 2))
            XCTAssertTrue(pooled.isChannelBlocked)
            XCTAssertTrue(try pooled.channelsFirst().equal(a.maxPool2d(kernel: (5, 5), stride: (1, 1), padding: (2, 2))))
            let up = try ab.upsampleNearest(scale: 2)
            XCTAssertEqual(up.shape, [2, 32 / block, 12, 12, block])
            XCTAssertTrue(try up.channelsFirst().equal(a.upsampleNearest(scale: 2)))
            XCTAssertTrue(try Tensor.catChannels([ab, bb]).channelsFirst().equal(Tensor.cat([a, b], dim: 1)))
            XCTAssertTrue(try Tensor.catChannels([ab, b]).equal(Tensor.cat([a, b], dim: 1)))  // mixed: NCHW
            let halves = try ab.chunkChannels(2)
            XCTAssertTrue(try halves[1].channelsFirst().equal(a.chunk(2, dim: 1)[1]))
            XCTAssertTrue(try ab.addChannels(bb).channelsFirst().equal(a + b))
            XCTAssertTrue(try ab.addChannels(b).equal(a + b))
            XCTAssertTrue(try ab.conv2d(Tensor.ones([3, 32, 1, 1])).allclose(a.conv2d(Tensor.ones([3, 32, 1, 1])), rtol: 1e-5, atol: 1e-5))
        }
        // Blocks of 8 with blocks of 16: NCHW.
        let (a8, b16) = (try blocked(a, 8), try blocked(b, 16))
        XCTAssertTrue(try Tensor.catChannels([a8, b16]).equal(Tensor.cat([a, b], dim: 1)))
        XCTAssertTrue(try a8.addChannels(b16).equal(a + b))
    }

    /// |a - b| <= 1e-4 * max|b| + 1e-5 elementwise: float32 against float64.
    private func assertNear(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString, line: UInt) throws {
        let actual = try values(a), expected = try values(b)
        let scale = expected.map { Swift.abs($0) }.max() ?? 0
        assertClose(actual, expected, accuracy: 1e-4 * scale + 1e-5, what, file: file, line: line)
    }
}
