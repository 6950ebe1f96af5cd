/// Converts a tensor for `Module.to`: dtype changes apply to floating-point tensors only.
func converted(_ t: Tensor, _ device: Device?, _ dtype: DType?) throws -> Tensor {
    let target = (dtype != nil && t.dtype.isFloatingPoint) ? dtype! : t.dtype
    let result = try t.to(device: device ?? t.device, dtype: target)
    return try result.requiresGrad(t.requiresGrad)
}

/// 2-D convolution, as `nn.Conv2d` (weight (out, in / groups, kh, kw), optional bias), initialised as PyTorch
/// does (uniform in ±1/√fan_in).
public final class Conv2d: Module, UnaryLayer {
    public private(set) var weight: Tensor
    public private(set) var bias: Tensor?
    public let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int

    public init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
        padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true
    ) throws {
        guard inChannels % groups == 0, outChannels % groups == 0 else {
            throw TorchError("Conv2d: channels \(inChannels)→\(outChannels) are not divisible by groups \(groups)")
        }
        let fanIn = inChannels / groups * kernelSize.0 * kernelSize.1
        let bound = 1 / Double(fanIn).squareRoot()
        func uniform(_ shape: [Int]) throws -> Tensor {
            try (Tensor.rand(shape) * (2 * bound) - bound).requiresGrad(true)
        }
        weight = try uniform([outChannels, inChannels / groups, kernelSize.0, kernelSize.1])
        self.bias = bias ? try uniform([outChannels]) : nil
        (self.stride, self.padding, self.dilation, self.groups) = (stride, padding, dilation, groups)
    }

    /// A convolution with given tensors (loaded or computed weights, such as a batch norm folded in).
    public init(
        weight: Tensor, bias: Tensor?, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
        dilation: (Int, Int) = (1, 1), groups: Int = 1
    ) throws {
        guard weight.ndim == 4, bias == nil || bias!.shape == [weight.size(0)] else {
            throw TorchError("Conv2d: weight must be (out, in / groups, kh, kw) and bias (out), got \(weight.shape)")
        }
        (self.weight, self.bias) = (weight, bias)
        (self.stride, self.padding, self.dilation, self.groups) = (stride, padding, dilation, groups)
    }

    /// A square kernel with the same stride and padding in both directions.
    public convenience init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
        groups: Int = 1, bias: Bool = true
    ) throws {
        try self.init(
            inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
            padding: (padding, padding), dilation: (dilation, dilation), groups: groups, bias: bias)
    }

    public override var ownParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.conv2d(weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    public override func convertTensors(device: Device?, dtype: DType?) throws {
        weight = try converted(weight, device, dtype)
        bias = try bias.map { try converted($0, device, dtype) }
    }
}

/// Transposed 2-D convolution with a square kernel, as `nn.ConvTranspose2d` (weight (in, out, k, k), optional
/// bias), initialised as PyTorch does (uniform in ±1/√fan_in, fan_in = out · k²).
public final class ConvTranspose2d: Module, UnaryLayer {
    public private(set) var weight: Tensor
    public private(set) var bias: Tensor?
    public let stride: Int, padding: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true)
        throws
    {
        let bound = 1 / Double(outChannels * kernelSize * kernelSize).squareRoot()
        func uniform(_ shape: [Int]) throws -> Tensor { try (Tensor.rand(shape) * (2 * bound) - bound).requiresGrad(true) }
        weight = try uniform([inChannels, outChannels, kernelSize, kernelSize])
        self.bias = bias ? try uniform([outChannels]) : nil
        (self.stride, self.padding) = (stride, padding)
    }

    public override var ownParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.convTranspose2d(weight, bias: bias, stride: (stride, stride), padding: (padding, padding))
    }

    public override func convertTensors(device: Device?, dtype: DType?) throws {
        weight = try converted(weight, device, dtype)
        bias = try bias.map { try converted($0, device, dtype) }
    }
}

/// Batch normalisation over channels, as `nn.BatchNorm2d` (affine, tracking running statistics).
public final class BatchNorm2d: Module, UnaryLayer {
    public private(set) var weight: Tensor, bias: Tensor
    public private(set) var runningMean: Tensor, runningVar: Tensor, numBatchesTracked: Tensor
    public var eps: Double, momentum: Double

    public init(_ features: Int, eps: Double = 1e-5, momentum: Double = 0.1) throws {
        weight = try Tensor.ones([features]).requiresGrad(true)
        bias = try Tensor.zeros([features]).requiresGrad(true)
        runningMean = try Tensor.zeros([features])
        runningVar = try Tensor.ones([features])
        numBatchesTracked = try Tensor.zeros([], dtype: .int64)
        (self.eps, self.momentum) = (eps, momentum)
    }

    public override var ownParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
    public override var ownBuffers: [(String, Tensor)] {
        [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", numBatchesTracked)]
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        if isTraining { try numBatchesTracked.add_(1) }
        return try x.batchNorm(
            weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar, training: isTraining,
            momentum: momentum, eps: eps)
    }

    public override func convertTensors(device: Device?, dtype: DType?) throws {
        weight = try converted(weight, device, dtype)
        bias = try converted(bias, device, dtype)
        runningMean = try converted(runningMean, device, dtype)
        runningVar = try converted(runningVar, device, dtype)
        numBatchesTracked = try converted(numBatchesTracked, device, nil)
    }
}

/// Max pooling, as `nn.MaxPool2d` (stride defaults to the kernel size).
public final class MaxPool2d: Module, UnaryLayer {
    public let kernelSize: Int, stride: Int, padding: Int
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        (self.kernelSize, self.stride, self.padding) = (kernelSize, stride ?? kernelSize, padding)
    }
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.maxPool2d(kernel: (kernelSize, kernelSize), stride: (stride, stride), padding: (padding, padding))
    }
}

/// Nearest-neighbour upsampling by an integer factor, as `nn.Upsample(scale_factor:, mode="nearest")`.
public final class Upsample: Module, UnaryLayer {
    public let scaleFactor: Int
    public init(scaleFactor: Int) { self.scaleFactor = scaleFactor }
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.upsampleNearest(scale: scaleFactor) }
}

/// SiLU activation, x·σ(x).
public final class SiLU: Module, UnaryLayer {
    public override init() {}
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.silu() }
}
