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
        ]
        var fusedCount = 0
        for c in cases {
            let fused = try check(c)
            fusedCount += fused ? 1 : 0
            XCTAssertFalse(fused && c.outChannels % 8 != 0, "\(c): fused with channels not a multiple of 8")
        }
        // The CI machine (x86 with AVX2, Debian's libtorch and libdnnl-dev) must take the fused path.
        if ProcessInfo.processInfo.environment["CI"] == "true" { XCTAssertEqual(fusedCount, 4) }
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
        return x.convBatchNormSiLUIsFused(w, stride: s, padding: p)
    }

    /// |a - b| <= 1e-4 * max|b| + 1e-5 elementwise: float32 against float64.
    private func assertNear(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString, line: UInt) throws {
        let actual = try values(a), expected = try values(b)
        let scale = expected.map { Swift.abs($0) }.max() ?? 0
        assertClose(actual, expected, accuracy: 1e-4 * scale + 1e-5, what, file: file, line: line)
    }
}
