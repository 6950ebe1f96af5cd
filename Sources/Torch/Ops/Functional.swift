import CTorch

// Neural-network functions, as in torch.nn.functional.

public enum Reduction: Int32, Sendable {
    case none = 0, mean, sum
}

extension Tensor {
    /// 2-D convolution of an NCHW input with an (out, in / groups, kh, kw) weight.
    public func conv2d(
        _ weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
        dilation: (Int, Int) = (1, 1), groups: Int = 1
    ) throws -> Tensor {
        try convolve(weight, bias, stride, padding, dilation, groups, silu: false)
    }

    /// `conv2d` followed by SiLU. At inference on the CPU, on engines whose oneDNN has the fused convolution
    /// (libtorch 2.x), one call with the SiLU applied as the output is written; elsewhere the two functions.
    public func conv2dSiLU(
        _ weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
        dilation: (Int, Int) = (1, 1), groups: Int = 1
    ) throws -> Tensor {
        try convolve(weight, bias, stride, padding, dilation, groups, silu: true)
    }

    /// The kernel a convolution of this input takes (`conv2d`, or `conv2dSiLU` when `silu`).
    public enum ConvolutionKernel: Int32, Sendable {
        /// libtorch's conv2d: under autograd or autocast, off the CPU, or outside float32 (and bfloat16 on CPUs that
        /// compute in it natively).
        case libtorch = 0
        /// oneDNN's convolution, called directly (channels-last inputs stay so).
        case oneDNN = 1
        /// oneDNN's convolution with SiLU applied as its output is written (libtorch 2.x).
        case oneDNNWithSiLU = 2
        /// NNPACK's Winograd convolution (see `Runtime.winogradConvolutions`).
        case winograd = 3
    }
    public func convolutionKernel(
        _ weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
        dilation: (Int, Int) = (1, 1), groups: Int = 1, silu: Bool = false
    ) throws -> ConvolutionKernel {
        let (s, p, d) = (Self.pair(stride), Self.pair(padding), Self.pair(dilation))
        let code = ct_conv2d_kernel(handle, weight.handle, bias?.handle, s, p, d, Int64(groups), silu)
        guard code >= 0, let kernel = ConvolutionKernel(rawValue: code) else { throw TorchError.last() }
        return kernel
    }

    private func convolve(
        _ weight: Tensor, _ bias: Tensor?, _ stride: (Int, Int), _ padding: (Int, Int), _ dilation: (Int, Int),
        _ groups: Int, silu: Bool
    ) throws -> Tensor {
        if isChannelBlocked { return try channelsFirst().convolve(weight, bias, stride, padding, dilation, groups, silu: silu) }
        let (s, p, d) = (Self.pair(stride), Self.pair(padding), Self.pair(dilation))
        return try checked(ct_conv2d(handle, weight.handle, bias?.handle, s, p, d, Int64(groups), silu))
    }
    private static func pair(_ v: (Int, Int)) -> [Int64] { [Int64(v.0), Int64(v.1)] }

    /// Batch normalisation over the channel dimension. In training it uses the batch's statistics and updates
    /// the running ones in place (running = (1 - momentum) * running + momentum * batch).
    public func batchNorm(
        weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?, training: Bool,
        momentum: Double = 0.1, eps: Double = 1e-5
    ) throws -> Tensor {
        if isChannelBlocked {
            return try channelsFirst().batchNorm(
                weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar, training: training,
                momentum: momentum, eps: eps)
        }
        return try checked(
            ct_batch_norm(
                handle, weight?.handle, bias?.handle, runningMean?.handle, runningVar?.handle, training, momentum,
                eps))
    }

    /// Training's convolution + batch norm + SiLU block: `silu(batchNorm(conv2d(weight), training: true))`,
    /// updating the running statistics, as one autograd node over oneDNN where the CPU and libtorch allow (the
    /// same values as the three functions, which run elsewhere). Takes NCHW or channel-blocked input; with
    /// `channelBlockedOutput`, the fused node returns its output channel-blocked (see ChannelBlocked.swift), which
    /// the next block takes without converting; the three functions always return NCHW.
    public func convBatchNormSiLU(
        _ weight: Tensor, stride: (Int, Int), padding: (Int, Int), bnWeight: Tensor, bnBias: Tensor,
        runningMean: Tensor?, runningVar: Tensor?, momentum: Double, eps: Double, channelBlockedOutput: Bool = false
    ) throws -> Tensor {
        let s = [Int64(stride.0), Int64(stride.1)], p = [Int64(padding.0), Int64(padding.1)]
        return try checked(
            ct_conv_bn_silu(
                handle, weight.handle, bnWeight.handle, bnBias.handle, runningMean?.handle, runningVar?.handle, s, p,
                momentum, eps, channelBlockedOutput))
    }
    /// Whether `convBatchNormSiLU` runs as one fused node for these shapes on this machine.
    public func convBatchNormSiLUIsFused(_ weight: Tensor, stride: (Int, Int), padding: (Int, Int)) throws -> Bool {
        try answer(ct_conv_bn_silu_fused(
            handle, weight.handle, [Int64(stride.0), Int64(stride.1)], [Int64(padding.0), Int64(padding.1)]))
    }

    public func maxPool2d(
        kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0), ceilMode: Bool = false
    ) throws -> Tensor {
        let k = [Int64(kernel.0), Int64(kernel.1)]
        let s = stride.map { [Int64($0.0), Int64($0.1)] } ?? k
        let p = [Int64(padding.0), Int64(padding.1)]
        if isChannelBlocked {
            return try mapChannelBlocks {
                try $0.maxPool2d(kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
            }
        }
        return try checked(ct_max_pool2d(handle, k, s, p, ceilMode))
    }

    /// Nearest-neighbour upsampling of an NCHW input to (height, width).
    public func upsampleNearest(height: Int, width: Int) throws -> Tensor {
        if isChannelBlocked { return try mapChannelBlocks { try $0.upsampleNearest(height: height, width: width) } }
        return try checked(ct_upsample_nearest2d(handle, Int64(height), Int64(width)))
    }
    /// Bilinear resizing of an NCHW tensor to `height` × `width`, as `F.interpolate(mode="bilinear")`.
    public func upsampleBilinear(height: Int, width: Int, alignCorners: Bool = false) throws -> Tensor {
        if isChannelBlocked { return try channelsFirst().upsampleBilinear(height: height, width: width, alignCorners: alignCorners) }
        return try checked(ct_upsample_bilinear2d(handle, Int64(height), Int64(width), alignCorners))
    }

    /// Transposed 2-D convolution of an NCHW input with an (in, out / groups, kh, kw) weight.
    public func convTranspose2d(
        _ weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
        outputPadding: (Int, Int) = (0, 0), groups: Int = 1, dilation: (Int, Int) = (1, 1)
    ) throws -> Tensor {
        if isChannelBlocked {
            return try channelsFirst().convTranspose2d(
                weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding, groups: groups,
                dilation: dilation)
        }
        let s = [Int64(stride.0), Int64(stride.1)], p = [Int64(padding.0), Int64(padding.1)]
        let o = [Int64(outputPadding.0), Int64(outputPadding.1)], d = [Int64(dilation.0), Int64(dilation.1)]
        return try checked(ct_conv_transpose2d(handle, weight.handle, bias?.handle, s, p, o, Int64(groups), d))
    }

    /// Nearest-neighbour upsampling by an integer factor.
    public func upsampleNearest(scale: Int) throws -> Tensor {
        let s = shape
        guard s.count == 4 || isChannelBlocked else { throw TorchError("upsample expects an NCHW tensor, got shape \(s)") }
        return try upsampleNearest(height: s[2] * scale, width: s[3] * scale)
    }

    /// Binary cross entropy on logits (numerically stable), as `F.binary_cross_entropy_with_logits`.
    public func binaryCrossEntropyWithLogits(
        _ target: Tensor, weight: Tensor? = nil, posWeight: Tensor? = nil, reduction: Reduction = .mean
    ) throws -> Tensor {
        try checked(ct_bce_with_logits(handle, target.handle, weight?.handle, posWeight?.handle, reduction.rawValue))
    }

    /// x · weightᵀ + bias.
    public func linear(_ weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        try checked(ct_linear(handle, weight.handle, bias?.handle))
    }
}
