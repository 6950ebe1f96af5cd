import CTorch

/// An error raised by libtorch (or by this layer's argument checks), carrying libtorch's message.
public struct TorchError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// The message of the last failed libtorch call on this thread.
    static func last() -> TorchError {
        TorchError(String(cString: ct_last_error()))
    }
}

/// Wraps a handle returned by the shim, throwing libtorch's message when the call failed.
@inline(__always)
func checked(_ handle: OpaquePointer?) throws -> Tensor {
    guard let handle else { throw TorchError.last() }
    return Tensor(handle: handle)
}

/// Throws libtorch's message when a status-returning call failed.
@inline(__always)
func check(_ status: Int32) throws {
    if status < 0 { throw TorchError.last() }
}

/// A yes/no the shim answers 1 or 0, throwing libtorch's message when it answered -1 (the call failed).
@inline(__always)
func answer(_ value: Int32) throws -> Bool {
    try check(value)
    return value != 0
}

/// The result of a call that fails only when an invariant of this layer is broken: a `Tensor` owns a handle to a
/// defined tensor of a known type (the shim hands out no other), so its metadata calls cannot fail. Stops with
/// libtorch's message rather than reading on with a wrong value.
@inline(__always)
func invariant<T: BinaryInteger>(_ value: T) -> T {
    if value < 0 { preconditionFailure("libtorch: \(TorchError.last())") }
    return value
}
