import CTorch

// Elementwise math: unary functions, arithmetic operators, comparisons, logic. Every op can fail (shape or dtype
// mismatch), so every op throws; one `try` covers a whole expression.

extension Tensor {
    @inline(__always) func unary(_ op: Int32) throws -> Tensor { try checked(ct_unary(op, handle)) }
    @inline(__always) func binary(_ op: Int32, _ other: Tensor) throws -> Tensor {
        try checked(ct_binary(op, handle, other.handle))
    }
    @inline(__always) func binary(_ op: Int32, _ scalar: Double) throws -> Tensor {
        try checked(ct_binary_scalar(op, handle, scalar))
    }

    public func neg() throws -> Tensor { try unary(Int32(CT_NEG)) }
    public func abs() throws -> Tensor { try unary(Int32(CT_ABS)) }
    public func exp() throws -> Tensor { try unary(Int32(CT_EXP)) }
    public func log() throws -> Tensor { try unary(Int32(CT_LOG)) }
    public func log1p() throws -> Tensor { try unary(Int32(CT_LOG1P)) }
    public func expm1() throws -> Tensor { try unary(Int32(CT_EXPM1)) }
    public func sqrt() throws -> Tensor { try unary(Int32(CT_SQRT)) }
    public func rsqrt() throws -> Tensor { try unary(Int32(CT_RSQRT)) }
    public func sigmoid() throws -> Tensor { try unary(Int32(CT_SIGMOID)) }
    public func relu() throws -> Tensor { try unary(Int32(CT_RELU)) }
    public func silu() throws -> Tensor { try unary(Int32(CT_SILU)) }
    /// SiLU in place (no new tensor; not on tensors autograd needs).
    public func silu_() throws { try check(ct_unary_(Int32(CT_SILU), handle)) }
    public func tanh() throws -> Tensor { try unary(Int32(CT_TANH)) }
    public func atan() throws -> Tensor { try unary(Int32(CT_ATAN)) }
    public func sin() throws -> Tensor { try unary(Int32(CT_SIN)) }
    public func cos() throws -> Tensor { try unary(Int32(CT_COS)) }
    public func floor() throws -> Tensor { try unary(Int32(CT_FLOOR)) }
    public func ceil() throws -> Tensor { try unary(Int32(CT_CEIL)) }
    public func round() throws -> Tensor { try unary(Int32(CT_ROUND)) }
    public func sign() throws -> Tensor { try unary(Int32(CT_SIGN)) }
    public func reciprocal() throws -> Tensor { try unary(Int32(CT_RECIPROCAL)) }
    public func square() throws -> Tensor { try unary(Int32(CT_SQUARE)) }
    public func logicalNot() throws -> Tensor { try unary(Int32(CT_LOGICAL_NOT)) }
    public func isnan() throws -> Tensor { try unary(Int32(CT_ISNAN)) }
    public func isfinite() throws -> Tensor { try unary(Int32(CT_ISFINITE)) }

    public func pow(_ exponent: Tensor) throws -> Tensor { try binary(Int32(CT_POW), exponent) }
    public func pow(_ exponent: Double) throws -> Tensor { try binary(Int32(CT_POW), exponent) }
    public func maximum(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_MAXIMUM), other) }
    public func minimum(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_MINIMUM), other) }
    public func atan2(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_ATAN2), other) }
    public func floorDivide(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_FLOOR_DIVIDE), other) }
    public func floorDivide(_ other: Double) throws -> Tensor { try binary(Int32(CT_FLOOR_DIVIDE), other) }
    public func remainder(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_REMAINDER), other) }
    public func remainder(_ other: Double) throws -> Tensor { try binary(Int32(CT_REMAINDER), other) }
    public func matmul(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_MATMUL), other) }

    public func clamp(min: Double? = nil, max: Double? = nil) throws -> Tensor {
        try checked(ct_clamp(handle, min != nil, min ?? 0, max != nil, max ?? 0))
    }

    // Comparisons give bool tensors.
    public func eq(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_EQ), other) }
    public func ne(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_NE), other) }
    public func lt(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_LT), other) }
    public func le(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_LE), other) }
    public func gt(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_GT), other) }
    public func ge(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_GE), other) }
    public func eq(_ other: Double) throws -> Tensor { try binary(Int32(CT_EQ), other) }
    public func ne(_ other: Double) throws -> Tensor { try binary(Int32(CT_NE), other) }
    public func lt(_ other: Double) throws -> Tensor { try binary(Int32(CT_LT), other) }
    public func le(_ other: Double) throws -> Tensor { try binary(Int32(CT_LE), other) }
    public func gt(_ other: Double) throws -> Tensor { try binary(Int32(CT_GT), other) }
    public func ge(_ other: Double) throws -> Tensor { try binary(Int32(CT_GE), other) }
    public func logicalAnd(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_LOGICAL_AND), other) }
    public func logicalOr(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_LOGICAL_OR), other) }
    public func logicalXor(_ other: Tensor) throws -> Tensor { try binary(Int32(CT_LOGICAL_XOR), other) }

    /// True when both tensors have the same shape and elements.
    public func equal(_ other: Tensor) throws -> Bool { try answer(ct_equal(handle, other.handle)) }
    public func allclose(_ other: Tensor, rtol: Double = 1e-5, atol: Double = 1e-8) throws -> Bool {
        try answer(ct_allclose(handle, other.handle, rtol, atol))
    }

    // MARK: In place (for parameter updates such as EMA; never on tensors autograd still needs)

    public func add_(_ other: Tensor, alpha: Double = 1) throws { try check(ct_inplace(Int32(CT_ADD), handle, other.handle, alpha)) }
    public func sub_(_ other: Tensor, alpha: Double = 1) throws { try check(ct_inplace(Int32(CT_SUB), handle, other.handle, alpha)) }
    public func mul_(_ other: Tensor) throws { try check(ct_inplace(Int32(CT_MUL), handle, other.handle, 1)) }
    public func div_(_ other: Tensor) throws { try check(ct_inplace(Int32(CT_DIV), handle, other.handle, 1)) }
    public func add_(_ scalar: Double) throws { try check(ct_inplace_scalar(Int32(CT_ADD), handle, scalar)) }
    public func mul_(_ scalar: Double) throws { try check(ct_inplace_scalar(Int32(CT_MUL), handle, scalar)) }
    public func div_(_ scalar: Double) throws { try check(ct_inplace_scalar(Int32(CT_DIV), handle, scalar)) }
    /// targets[i] = targets[i] · scale + sources[i] · alpha for every pair, in place, in two batched libtorch calls
    /// (an exponential moving average over a whole model; the same arithmetic as mul_ then add_).
    public static func scaleAndAdd_(_ targets: [Tensor], scale: Double, _ sources: [Tensor], alpha: Double) throws {
        guard targets.count == sources.count else {
            throw TorchError("scaleAndAdd_: \(targets.count) targets but \(sources.count) sources")
        }
        var t: [ct_tensor?] = targets.map { $0.handle }
        let s: [ct_tensor?] = sources.map { $0.handle }
        try check(ct_scale_add_all_(&t, s, Int32(t.count), scale, alpha))
    }
    public func copy_(_ source: Tensor) throws { try check(ct_copy_(handle, source.handle)) }
    public func fill_(_ value: Double) throws { try check(ct_fill_(handle, value)) }
    public func zero_() throws { try fill_(0) }
}

// MARK: Operators

extension Tensor {
    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(Int32(CT_ADD), b) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(Int32(CT_SUB), b) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(Int32(CT_MUL), b) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(Int32(CT_DIV), b) }
    public static func + (a: Tensor, s: Double) throws -> Tensor { try a.binary(Int32(CT_ADD), s) }
    public static func - (a: Tensor, s: Double) throws -> Tensor { try a.binary(Int32(CT_SUB), s) }
    public static func * (a: Tensor, s: Double) throws -> Tensor { try a.binary(Int32(CT_MUL), s) }
    public static func / (a: Tensor, s: Double) throws -> Tensor { try a.binary(Int32(CT_DIV), s) }
    public static func + (s: Double, a: Tensor) throws -> Tensor { try a.binary(Int32(CT_ADD), s) }
    public static func - (s: Double, a: Tensor) throws -> Tensor { try a.binary(Int32(CT_RSUB), s) }
    public static func * (s: Double, a: Tensor) throws -> Tensor { try a.binary(Int32(CT_MUL), s) }
    public static func / (s: Double, a: Tensor) throws -> Tensor { try a.binary(Int32(CT_RDIV), s) }
    public static prefix func - (a: Tensor) throws -> Tensor { try a.neg() }
}
