import CTorch

/// Tensor factories, named as in PyTorch.
extension Tensor {
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32, device: Device = .cpu) throws
        -> Tensor
    {
        let dims = shape.map(Int64.init), d = device.code
        return try checked(ct_full(dims, Int32(dims.count), value, dtype.rawValue, d.kind, d.index))
    }
    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full(shape, 0, dtype: dtype, device: device)
    }
    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full(shape, 1, dtype: dtype, device: device)
    }
    /// A tensor of this one's shape, dtype and device filled with `value`.
    public func full(like value: Double) throws -> Tensor { try Tensor.full(shape, value, dtype: dtype, device: device) }
    public func zerosLike() throws -> Tensor { try full(like: 0) }
    public func onesLike() throws -> Tensor { try full(like: 1) }
    /// Zeros or ones of `shape` with this tensor's dtype and device (PyTorch's `new_zeros`, `new_ones`).
    public func newZeros(_ shape: [Int]) throws -> Tensor { try Tensor.full(shape, 0, dtype: dtype, device: device) }
    public func newOnes(_ shape: [Int]) throws -> Tensor { try Tensor.full(shape, 1, dtype: dtype, device: device) }

    /// Values from `start` up to (not including) `end`. The dtype defaults to int64 as PyTorch's does for integers.
    public static func arange(
        _ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64, device: Device = .cpu
    ) throws -> Tensor {
        let d = device.code
        return try checked(ct_arange(start, end, step, dtype.rawValue, d.kind, d.index))
    }
    public static func linspace(
        _ start: Double, _ end: Double, steps: Int, dtype: DType = .float32, device: Device = .cpu
    ) throws -> Tensor {
        let d = device.code
        return try checked(ct_linspace(start, end, Int64(steps), dtype.rawValue, d.kind, d.index))
    }
    /// Uniform samples in [0, 1).
    public static func rand(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try random(Int32(CT_RAND), shape, dtype, device)
    }
    /// Standard normal samples.
    public static func randn(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try random(Int32(CT_RANDN), shape, dtype, device)
    }
    private static func random(_ kind: Int32, _ shape: [Int], _ dtype: DType, _ device: Device) throws -> Tensor {
        let dims = shape.map(Int64.init), d = device.code
        return try checked(ct_random(kind, dims, Int32(dims.count), dtype.rawValue, d.kind, d.index))
    }
    /// Integers uniformly drawn from [low, high).
    public static func randint(
        _ low: Int, _ high: Int, _ shape: [Int], dtype: DType = .int64, device: Device = .cpu
    ) throws -> Tensor {
        let dims = shape.map(Int64.init), d = device.code
        return try checked(
            ct_randint(Int64(low), Int64(high), dims, Int32(dims.count), dtype.rawValue, d.kind, d.index))
    }
    /// A random permutation of 0..<n.
    public static func randperm(_ n: Int, device: Device = .cpu) throws -> Tensor {
        let d = device.code
        return try checked(ct_randperm(Int64(n), d.kind, d.index))
    }
    public static func eye(_ n: Int, _ m: Int? = nil, dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        let d = device.code
        return try checked(ct_eye(Int64(n), Int64(m ?? n), dtype.rawValue, d.kind, d.index))
    }
    /// A zero-dimensional tensor.
    public static func scalar(_ value: Double, dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full([], value, dtype: dtype, device: device)
    }
}
