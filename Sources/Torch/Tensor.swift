import CTorch

/// An n-dimensional array on a device, backed by a libtorch tensor that this object owns.
public final class Tensor: @unchecked Sendable {
    let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }
    deinit { ct_free(handle) }

    // MARK: Metadata

    public var ndim: Int { Int(invariant(ct_ndim(handle))) }
    public var numel: Int { Int(invariant(ct_numel(handle))) }
    public var shape: [Int] {
        var dims = [Int64](repeating: 0, count: ndim)
        _ = invariant(ct_shape(handle, &dims))
        return dims.map { Int($0) }
    }
    public var dtype: DType {
        let code = invariant(ct_dtype(handle))
        guard let dtype = DType(rawValue: code) else { preconditionFailure("libtorch: unknown type code \(code)") }
        return dtype
    }
    public var device: Device {
        var kind: Int32 = 0, index: Int32 = 0
        _ = invariant(ct_device(handle, &kind, &index))
        return Device(kind: kind, index: index)
    }
    public var isContiguous: Bool { invariant(ct_is_contiguous(handle)) != 0 }

    /// Size of one dimension (negative counts from the end).
    public func size(_ dim: Int) -> Int {
        let s = shape
        return s[dim < 0 ? dim + s.count : dim]
    }

    // MARK: Data in

    /// A CPU tensor holding a copy of `values` (C order). `shape` defaults to one dimension.
    public convenience init<T: TensorElement>(_ values: [T], shape: [Int]? = nil) throws {
        let shape = shape ?? [values.count]
        try Tensor.checkCount(values.count, shape)
        let handle = values.withUnsafeBytes { raw in
            Tensor.fromData(raw.baseAddress, shape: shape, dtype: T.dtype)
        }
        try self.init(handle: Tensor.require(handle))
    }

    /// A CPU tensor holding a copy of raw little-endian bytes laid out in C order.
    public convenience init(bytes: [UInt8], shape: [Int], dtype: DType) throws {
        try self.init(buffer: UnsafeRawBufferPointer(start: nil, count: 0), bytes: bytes, shape: shape, dtype: dtype)
    }

    /// A CPU tensor holding a copy of a raw buffer laid out in C order.
    public convenience init(buffer: UnsafeRawBufferPointer, shape: [Int], dtype: DType) throws {
        try self.init(buffer: buffer, bytes: nil, shape: shape, dtype: dtype)
    }

    private convenience init(buffer: UnsafeRawBufferPointer, bytes: [UInt8]?, shape: [Int], dtype: DType) throws {
        let count = bytes?.count ?? buffer.count
        let expected = shape.reduce(1, *) * dtype.size
        guard count == expected else {
            throw TorchError("\(count) bytes given for shape \(shape) of \(dtype), which needs \(expected)")
        }
        let handle =
            if let bytes {
                bytes.withUnsafeBytes { Tensor.fromData($0.baseAddress, shape: shape, dtype: dtype) }
            } else {
                Tensor.fromData(buffer.baseAddress, shape: shape, dtype: dtype)
            }
        try self.init(handle: Tensor.require(handle))
    }

    private static func fromData(_ pointer: UnsafeRawPointer?, shape: [Int], dtype: DType) -> OpaquePointer? {
        let dims = shape.map(Int64.init)
        var placeholder: UInt8 = 0  // from_blob needs a non-null pointer even for zero elements
        return withUnsafePointer(to: &placeholder) { empty in
            ct_from_data(pointer ?? UnsafeRawPointer(empty), dims, Int32(dims.count), dtype.rawValue)
        }
    }

    private static func checkCount(_ count: Int, _ shape: [Int]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw TorchError("\(count) values do not fill shape \(shape)")
        }
    }

    static func require(_ handle: OpaquePointer?) throws -> OpaquePointer {
        guard let handle else { throw TorchError.last() }
        return handle
    }

    // MARK: Data out

    /// The elements in C order, converted to `T` (the tensor is copied to the CPU first when needed).
    public func toArray<T: TensorElement>(_ type: T.Type = T.self) throws -> [T] {
        let source = dtype == T.dtype ? self : try to(T.dtype)
        let count = source.numel
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try check(ct_copy_out(source.handle, buffer.baseAddress, count * MemoryLayout<T>.stride))
            initialized = count
        }
    }

    /// The raw bytes of the elements in C order.
    public func bytes() throws -> [UInt8] {
        let count = numel * dtype.size
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try check(ct_copy_out(handle, buffer.baseAddress, count))
            initialized = count
        }
    }

    /// The value of a one-element tensor.
    public func item() throws -> Double {
        var value = 0.0
        try check(ct_item(handle, &value))
        return value
    }

    // MARK: Conversion

    public func to(_ dtype: DType) throws -> Tensor { try to(device: device, dtype: dtype) }
    public func to(_ device: Device) throws -> Tensor { try to(device: device, dtype: dtype) }
    public func to(device: Device, dtype: DType, copy: Bool = false) throws -> Tensor {
        let d = device.code
        return try checked(ct_to(handle, dtype.rawValue, d.kind, d.index, copy))
    }
    public func contiguous() throws -> Tensor { try checked(ct_contiguous(handle)) }
    /// A 4-D tensor with channels-last strides: the same (N, C, H, W) values, stored NHWC. oneDNN's CPU convolutions
    /// read and write this layout directly.
    public func contiguousChannelsLast() throws -> Tensor { try checked(ct_contiguous_channels_last(handle)) }
    /// A copy that shares nothing with this tensor.
    public func clone() throws -> Tensor { try to(device: device, dtype: dtype, copy: true) }
    /// A second handle to the same tensor (same storage, same autograd identity).
    public func alias() throws -> Tensor { try checked(ct_shallow_copy(handle)) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = "Tensor(\(shape), \(dtype)\(device == .cpu ? "" : ", \(device)"))"
        guard numel <= 16, let values = try? toArray(Double.self) else { return head }
        return head + " " + values.map { "\($0)" }.joined(separator: ", ")
    }
}
