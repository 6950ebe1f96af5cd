import Foundation
import Torch
import XCTest

/// Inference's convolution + SiLU (`conv2dSiLU`): the fused oneDNN call where the engine has it (libtorch 2.x) gives
/// what conv2d then silu give, in NCHW and channels-last, with and without bias, strides 1 and 2, grouped; under
/// autograd (and on 1.13) the two functions run, with gradients. NNPACK's Winograd convolution (pip's torch on AVX2)
/// gives what oneDNN's direct one gives, within float32 rounding.
final class ConvSiLUTests: XCTestCase {
    override func setUp() { Runtime.seed(5) }

    func testFusedPathMatchesConvThenSiLU() throws {
        var fused = 0
        for (shape, out, k, stride, groups, bias, channelsLast) in [
            ([1, 16, 20, 24], 32, 3, 1, 1, true, false), ([2, 16, 13, 9], 24, 3, 2, 1, true, true),
            ([1, 32, 10, 10], 32, 1, 1, 1, false, true), ([1, 16, 12, 12], 16, 3, 1, 4, true, false),
        ] {
            var x = try Tensor.randn(shape)
            if channelsLast { x = try x.contiguousChannelsLast() }
            let w = try Tensor.randn([out, shape[1] / groups, k, k]) * 0.2
            let b = bias ? try Tensor.randn([out]) : nil
            let (p, s) = ((k / 2, k / 2), (stride, stride))
            let (y, expected, isFused) = try withNoGrad {
                (try x.conv2dSiLU(w, bias: b, stride: s, padding: p, groups: groups),
                 try x.conv2d(w, bias: b, stride: s, padding: p, groups: groups).silu(), try x.convolutionKernel(w, bias: b, stride: s, padding: p, groups: groups, silu: true) == .oneDNNWithSiLU)
            }
            fused += isFused ? 1 : 0
            XCTAssertEqual(y.shape, expected.shape)
            XCTAssertLessThan(try (y - expected).abs().amax().item(), 1e-4, "\(shape) k\(k) s\(stride) g\(groups)")
        }
        // libtorch 2.x registers oneDNN's fused convolution: every case takes it there (the fallback elsewhere).
        let major = Int(Runtime.torchVersion.split(separator: ".").first ?? "") ?? 0
        XCTAssertEqual(fused, major >= 2 ? 4 : 0, "fused cases on libtorch \(Runtime.torchVersion)")
    }

    /// bfloat16 inference (`half=True` on CPUs with native bfloat16) calls oneDNN directly there, fused with SiLU on
    /// libtorch 2.x, and stays within bfloat16's rounding of the float32 result; on other CPUs bfloat16 convolutions
    /// take libtorch's conv2d (which emulates them).
    func testBFloat16InferenceTakesOneDNNOnCPUsWithNativeBFloat16() throws {
        let x = try Tensor.randn([1, 32, 20, 24]).contiguousChannelsLast()
        let w = try Tensor.randn([32, 32, 3, 3]) * 0.1, b = try Tensor.randn([32]) * 0.1
        let (xh, wh, bh) = (try x.to(.bfloat16), try w.to(.bfloat16), try b.to(.bfloat16))
        let major = Int(Runtime.torchVersion.split(separator: ".").first ?? "") ?? 0
        let kernel = try withNoGrad { try xh.convolutionKernel(wh, bias: bh, padding: (1, 1), silu: true) }
        if CPUInfo.current.hasNativeBFloat16 {
            XCTAssertEqual(kernel, major >= 2 ? .oneDNNWithSiLU : .oneDNN)
        } else {
            XCTAssertEqual(kernel, .libtorch)
        }
        let (y, expected) = try withNoGrad {
            (try xh.conv2dSiLU(wh, bias: bh, padding: (1, 1)), try x.conv2d(w, bias: b, padding: (1, 1)).silu())
        }
        XCTAssertEqual(y.dtype, .bfloat16)
        let scale = try expected.abs().amax().item() as Double
        // Inputs rounded to 8 bits of mantissa, products summed over 288 terms, the output rounded again.
        XCTAssertLessThan(try (y.to(.float32) - expected).abs().amax().item(), 0.03 * scale)
        XCTAssertGreaterThan(try (y.to(.float32) - expected).abs().amax().item(), 0)  // it did run in bfloat16
    }

    func testUnderAutogradItIsConvThenSiLUWithGradients() throws {
        let x = try Tensor.randn([1, 8, 6, 6]).requiresGrad(true)
        let w = try (Tensor.randn([8, 8, 3, 3]) * 0.2).requiresGrad(true)
        XCTAssertEqual(try x.convolutionKernel(w, padding: (1, 1), silu: true), .libtorch)
        let y = try x.conv2dSiLU(w, padding: (1, 1))
        try y.sum().backward()
        let gradient = try XCTUnwrap(w.grad)
        let x2 = try x.detach().requiresGrad(true), w2 = try w.detach().requiresGrad(true)
        try x2.conv2d(w2, padding: (1, 1)).silu().sum().backward()
        XCTAssertLessThan(try (gradient - XCTUnwrap(w2.grad)).abs().amax().item(), 1e-5)
    }

    func testWinogradMatchesTheDirectConvolution() throws {
        let (enabled, threads) = (Runtime.winogradConvolutions, Runtime.threads)
        defer { (Runtime.winogradConvolutions, Runtime.threads) = (enabled, threads) }
        Runtime.threads = 3  // a single image splits into 3 bands of rows, each with its own halo
        // 32 x 30: not whole 8x8 tiles; the last input is the second half of a channels-last map's channels (C2f's
        // chunk), whose pixels are 80 floats apart.
        for (shape, out, channelsLast, sliced) in [
            ([1, 32, 40, 36], 48, false, false), ([2, 40, 32, 30], 36, true, false), ([1, 40, 32, 30], 32, true, true),
        ] {
            var x = try Tensor.randn(sliced ? [shape[0], 2 * shape[1], shape[2], shape[3]] : shape)
            if channelsLast { x = try x.contiguousChannelsLast() }
            if sliced { x = try x.slice(dim: 1, start: shape[1]) }
            let w = try Tensor.randn([out, shape[1], 3, 3]) * 0.1, b = try Tensor.randn([out])
            let run = { (winograd: Bool) throws -> (Tensor, Tensor, Tensor.ConvolutionKernel) in
                Runtime.winogradConvolutions = winograd
                return try withNoGrad {
                    (try x.conv2dSiLU(w, bias: b, padding: (1, 1)), try x.conv2d(w, bias: b, padding: (1, 1)),
                     try x.convolutionKernel(w, bias: b, padding: (1, 1), silu: true))
                }
            }
            let (fast, fastConv, kernel) = try run(true), (direct, directConv, directKernel) = try run(false)
            XCTAssertEqual(kernel, Runtime.winogradIsAvailable ? .winograd : directKernel, "\(shape)")
            XCTAssertNotEqual(directKernel, .winograd)
            XCTAssertEqual(fast.shape, [shape[0], out, shape[2], shape[3]])
            // Its output keeps the input's layout, so that the next layer reads it as it reads oneDNN's.
            XCTAssertEqual(fast.isContiguous, !channelsLast, "\(shape)")
            let scale = try directConv.abs().amax().item()
            XCTAssertLessThan(try (fastConv - directConv).abs().amax().item(), 1e-4 * scale, "\(shape)")
            XCTAssertLessThan(try (fast - direct).abs().amax().item(), 1e-4 * scale, "\(shape)")
        }
        // Below 32 channels or 256 pixels, and for other kernels or strides, oneDNN keeps them.
        let small = try Tensor.randn([1, 16, 40, 40]), tiny = try Tensor.randn([1, 64, 15, 15])
        try withNoGrad {
            XCTAssertNotEqual(try small.convolutionKernel(Tensor.randn([32, 16, 3, 3]), padding: (1, 1)), .winograd)
            XCTAssertNotEqual(try tiny.convolutionKernel(Tensor.randn([64, 64, 3, 3]), padding: (1, 1)), .winograd)
            let large = try Tensor.randn([1, 64, 40, 40])
            XCTAssertNotEqual(try large.convolutionKernel(Tensor.randn([64, 64, 3, 3]), stride: (2, 2), padding: (1, 1)), .winograd)
            XCTAssertNotEqual(try large.convolutionKernel(Tensor.randn([64, 64, 1, 1])), .winograd)
        }
    }

    /// The Winograd path keeps each weight's transform between calls: a weight changed in place (as loading a state
    /// dict or an optimizer step does) must give the new convolution, not the old one.
    func testWinogradFollowsAWeightChangedInPlace() throws {
        let enabled = Runtime.winogradConvolutions
        defer { Runtime.winogradConvolutions = enabled }
        Runtime.winogradConvolutions = true
        let x = try Tensor.randn([1, 32, 24, 24]), w = try Tensor.randn([32, 32, 3, 3]) * 0.1
        try withNoGrad {
            let before = try x.conv2d(w, padding: (1, 1))
            try w.mul_(-2)
            let after = try x.conv2d(w, padding: (1, 1))
            let scale = try before.abs().amax().item()
            XCTAssertGreaterThan(scale, 0)
            XCTAssertLessThan(try (after + before * 2).abs().amax().item(), 2e-4 * scale)
            try w.copy_(Tensor.zeros([32, 32, 3, 3]))
            XCTAssertEqual(try x.conv2d(w, padding: (1, 1)).abs().amax().item(), 0)
        }
    }

    /// libtorch's optimizers update parameters through `.data()`, which leaves their version as it was: inference on
    /// a parameter (a weight that requires gradients) must follow an optimizer step all the same.
    func testWinogradFollowsAnOptimizerStep() throws {
        let enabled = Runtime.winogradConvolutions
        defer { Runtime.winogradConvolutions = enabled }
        let x = try Tensor.randn([1, 32, 24, 24]), w = try (Tensor.randn([32, 32, 3, 3]) * 0.1).requiresGrad(true)
        let convolve = { (winograd: Bool) throws -> Tensor in
            Runtime.winogradConvolutions = winograd
            return try withNoGrad { try x.conv2d(w, padding: (1, 1)) }
        }
        let before = try convolve(true)
        let sgd = try SGD([w], lr: 1.0)
        try x.conv2d(w, padding: (1, 1)).sum().backward()
        try sgd.step()
        let (after, direct) = (try convolve(true), try convolve(false))
        let scale = try direct.abs().amax().item()
        XCTAssertGreaterThan(try (direct - before).abs().amax().item(), 0.1 * scale, "the step changed nothing")
        XCTAssertLessThan(try (after - direct).abs().amax().item(), 1e-4 * scale)
    }
}
