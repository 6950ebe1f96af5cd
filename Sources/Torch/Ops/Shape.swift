import CTorch

// Shapes, views and indexing. Dimensions may be negative (counted from the end), as in PyTorch.

extension Tensor {
    private func withDims(_ values: [Int], _ call: (UnsafePointer<Int64>, Int32) -> OpaquePointer?) throws -> Tensor {
        let d = values.map(Int64.init)
        return try checked(d.withUnsafeBufferPointer { call($0.baseAddress!, Int32(d.count)) })
    }

    public func reshape(_ shape: [Int]) throws -> Tensor { try withDims(shape) { ct_reshape(handle, $0, $1) } }
    public func reshape(_ shape: Int...) throws -> Tensor { try reshape(shape) }
    /// Like `reshape`, but fails instead of copying when the memory layout does not allow a view.
    public func view(_ shape: [Int]) throws -> Tensor { try withDims(shape) { ct_view(handle, $0, $1) } }
    public func view(_ shape: Int...) throws -> Tensor { try view(shape) }
    public func expand(_ shape: [Int]) throws -> Tensor { try withDims(shape) { ct_expand(handle, $0, $1) } }
    public func repeated(_ repeats: [Int]) throws -> Tensor { try withDims(repeats) { ct_repeat(handle, $0, $1) } }
    public func permute(_ dims: [Int]) throws -> Tensor { try withDims(dims) { ct_permute(handle, $0, $1) } }
    public func permute(_ dims: Int...) throws -> Tensor { try permute(dims) }
    public func flip(_ dims: [Int]) throws -> Tensor { try withDims(dims) { ct_flip(handle, $0, $1) } }
    public func transpose(_ dim0: Int, _ dim1: Int) throws -> Tensor {
        try checked(ct_transpose(handle, Int64(dim0), Int64(dim1)))
    }
    /// Elements `start..<end` (stepping by `step`) along `dim`; `end` nil means to the end.
    public func slice(dim: Int, start: Int = 0, end: Int? = nil, step: Int = 1) throws -> Tensor {
        try checked(ct_slice(handle, Int64(dim), Int64(start), Int64(end ?? Int(Int64.max)), Int64(step)))
    }
    /// The sub-tensor at `index` along `dim`, with that dimension removed.
    public func select(dim: Int, index: Int) throws -> Tensor {
        try checked(ct_select(handle, Int64(dim), Int64(index)))
    }
    public func narrow(dim: Int, start: Int, length: Int) throws -> Tensor {
        try slice(dim: dim, start: start, end: start + length)
    }
    public func unsqueeze(_ dim: Int) throws -> Tensor { try checked(ct_unsqueeze(handle, Int64(dim))) }
    /// Removes `dim` when it has size 1, or every size-1 dimension when `dim` is nil.
    public func squeeze(_ dim: Int? = nil) throws -> Tensor {
        try checked(ct_squeeze(handle, Int64(dim ?? Int(Int32.min))))
    }
    public func flatten(start: Int = 0, end: Int = -1) throws -> Tensor {
        try checked(ct_flatten(handle, Int64(start), Int64(end)))
    }

    /// `self[index]` along the first dimension.
    public subscript(index: Int) -> Tensor {
        get throws { try select(dim: 0, index: index) }
    }
    /// `self[range]` along the first dimension.
    public subscript(range: Range<Int>) -> Tensor {
        get throws { try slice(dim: 0, start: range.lowerBound, end: range.upperBound) }
    }

    public func indexSelect(dim: Int, index: Tensor) throws -> Tensor {
        try checked(ct_index_select(handle, Int64(dim), index.handle))
    }
    public func gather(dim: Int, index: Tensor) throws -> Tensor {
        try checked(ct_gather(handle, Int64(dim), index.handle))
    }
    /// A copy with `source` written at `index` along `dim` (added there when `add`).
    public func scatter(dim: Int, index: Tensor, source: Tensor, add: Bool = false) throws -> Tensor {
        try checked(ct_scatter(handle, Int64(dim), index.handle, source.handle, add))
    }
    /// Advanced indexing, `self[i0, i1, ...]`; a nil entry takes the whole dimension (`:`).
    public func index(_ indices: [Tensor?]) throws -> Tensor {
        try withHandles(indices) { ct_index(handle, $0, $1) }
    }
    /// A copy with `values` written at `self[i0, i1, ...]` (added there when `accumulate`).
    public func indexPut(_ indices: [Tensor?], _ values: Tensor, accumulate: Bool = false) throws -> Tensor {
        try withHandles(indices) { ct_index_put(handle, $0, $1, values.handle, accumulate) }
    }
    public func maskedFill(_ mask: Tensor, _ value: Double) throws -> Tensor {
        try checked(ct_masked_fill(handle, mask.handle, value))
    }
    /// The elements where `mask` is true, flattened.
    public func maskedSelect(_ mask: Tensor) throws -> Tensor { try checked(ct_masked_select(handle, mask.handle)) }
    /// Indices of the non-zero elements, one row each: shape (count, ndim).
    public func nonzero() throws -> Tensor { try checked(ct_nonzero(handle)) }

    /// Elements of `a` where `condition` holds, else of `b`.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try checked(ct_where(condition.handle, a.handle, b.handle))
    }
    public static func cat(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        try withHandles(tensors) { ct_cat($0, $1, Int64(dim)) }
    }
    public static func stack(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        try withHandles(tensors) { ct_stack($0, $1, Int64(dim)) }
    }

    /// Pieces of the given sizes along `dim`.
    public func split(_ sizes: [Int], dim: Int = 0) throws -> [Tensor] {
        let d = sizes.map(Int64.init)
        return try pieces(capacity: sizes.count) { ct_split(handle, d, Int32(d.count), Int64(dim), $0, $1) }
    }
    /// Pieces of `size` along `dim` (the last one may be smaller), as PyTorch's `split(int)`.
    public func split(size: Int, dim: Int = 0) throws -> [Tensor] {
        guard size > 0 else { throw TorchError("split size must be positive, got \(size)") }
        let n = self.size(dim)
        return try split(stride(from: 0, to: n, by: size).map { Swift.min(size, n - $0) }, dim: dim)
    }
    public func chunk(_ chunks: Int, dim: Int = 0) throws -> [Tensor] {
        try pieces(capacity: chunks) { ct_chunk(handle, Int64(chunks), Int64(dim), $0, $1) }
    }

    private func pieces(capacity: Int, _ call: (UnsafeMutablePointer<OpaquePointer?>, Int32) -> Int32) throws
        -> [Tensor]
    {
        var out = [OpaquePointer?](repeating: nil, count: Swift.max(capacity, 1))
        let n = Int(call(&out, Int32(out.count)))
        try check(Int32(n))
        return out.prefix(n).map { Tensor(handle: $0!) }
    }
}

/// Calls `body` with a C array of the tensors' handles (nil stays nil).
func withHandles(_ tensors: [Tensor?], _ body: (UnsafePointer<OpaquePointer?>, Int32) -> OpaquePointer?) throws
    -> Tensor
{
    let handles = tensors.map { $0?.handle }
    let result = handles.withUnsafeBufferPointer { body($0.baseAddress!, Int32(handles.count)) }
    withExtendedLifetime(tensors) {}
    return try checked(result)
}
