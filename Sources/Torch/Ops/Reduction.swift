import CTorch

// Reductions, sorting and selection. `dims` empty means every dimension.

extension Tensor {
    func reduce(_ op: Int32, _ dims: [Int], _ keepdim: Bool) throws -> Tensor {
        let d = dims.map(Int64.init)
        return try checked(ct_reduce(op, handle, d, Int32(d.count), keepdim))
    }

    public func sum(dims: [Int] = [], keepdim: Bool = false) throws -> Tensor { try reduce(Int32(CT_SUM), dims, keepdim) }
    public func sum(dim: Int, keepdim: Bool = false) throws -> Tensor { try sum(dims: [dim], keepdim: keepdim) }
    public func mean(dims: [Int] = [], keepdim: Bool = false) throws -> Tensor { try reduce(Int32(CT_MEAN), dims, keepdim) }
    public func mean(dim: Int, keepdim: Bool = false) throws -> Tensor { try mean(dims: [dim], keepdim: keepdim) }
    public func prod(dims: [Int] = [], keepdim: Bool = false) throws -> Tensor { try reduce(Int32(CT_PROD), dims, keepdim) }
    /// Largest value over `dims` (values only; see `max(dim:)` for indices too).
    public func amax(dims: [Int] = [], keepdim: Bool = false) throws -> Tensor { try reduce(Int32(CT_AMAX), dims, keepdim) }
    public func amin(dims: [Int] = [], keepdim: Bool = false) throws -> Tensor { try reduce(Int32(CT_AMIN), dims, keepdim) }
    public func any(dims: [Int] = [], keepdim: Bool = false) throws -> Tensor { try reduce(Int32(CT_ANY), dims, keepdim) }
    public func all(dims: [Int] = [], keepdim: Bool = false) throws -> Tensor { try reduce(Int32(CT_ALL), dims, keepdim) }
    /// Sample standard deviation (Bessel-corrected, as PyTorch's default).
    public func std(dims: [Int] = [], keepdim: Bool = false) throws -> Tensor { try reduce(Int32(CT_STD), dims, keepdim) }
    public func variance(dims: [Int] = [], keepdim: Bool = false) throws -> Tensor { try reduce(Int32(CT_VAR), dims, keepdim) }
    /// Euclidean norm.
    public func norm(dims: [Int] = [], keepdim: Bool = false) throws -> Tensor { try reduce(Int32(CT_NORM), dims, keepdim) }
    public func logsumexp(dims: [Int], keepdim: Bool = false) throws -> Tensor { try reduce(Int32(CT_LOGSUMEXP), dims, keepdim) }

    /// Index of the largest element along `dim`, or in the flattened tensor when `dim` is nil.
    public func argmax(dim: Int? = nil, keepdim: Bool = false) throws -> Tensor {
        try checked(ct_argmax(handle, Int64(dim ?? Int(Int32.min)), keepdim, false))
    }
    public func argmin(dim: Int? = nil, keepdim: Bool = false) throws -> Tensor {
        try checked(ct_argmax(handle, Int64(dim ?? Int(Int32.min)), keepdim, true))
    }

    /// Largest values along `dim` with their indices.
    public func max(dim: Int, keepdim: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        try pair { ct_max_dim(handle, Int64(dim), keepdim, false, &$0, &$1) }
    }
    public func min(dim: Int, keepdim: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        try pair { ct_max_dim(handle, Int64(dim), keepdim, true, &$0, &$1) }
    }
    public func sort(dim: Int = -1, descending: Bool = false, stable: Bool = false) throws
        -> (values: Tensor, indices: Tensor)
    {
        try pair { ct_sort(handle, Int64(dim), descending, stable, &$0, &$1) }
    }
    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true, sorted: Bool = true) throws
        -> (values: Tensor, indices: Tensor)
    {
        try pair { ct_topk(handle, Int64(k), Int64(dim), largest, sorted, &$0, &$1) }
    }

    private func pair(_ call: (inout OpaquePointer?, inout OpaquePointer?) -> Int32) throws -> (Tensor, Tensor) {
        var a: OpaquePointer?, b: OpaquePointer?
        try check(call(&a, &b))
        return (Tensor(handle: a!), Tensor(handle: b!))
    }

    public func softmax(dim: Int) throws -> Tensor { try checked(ct_softmax(handle, Int64(dim), false)) }
    public func logSoftmax(dim: Int) throws -> Tensor { try checked(ct_softmax(handle, Int64(dim), true)) }
    public func cumsum(dim: Int) throws -> Tensor { try checked(ct_cumsum(handle, Int64(dim))) }
}
