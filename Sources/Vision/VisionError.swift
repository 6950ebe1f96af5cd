import COpenCV

/// An error from the Vision module: OpenCV's message, or the shim's (naming the file for unreadable paths).
public struct VisionError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// The shim's last error on this thread.
    static func last() -> VisionError {
        let message = String(cString: cvs_last_error())
        return VisionError(message.isEmpty ? "unknown OpenCV error" : message)
    }
}

/// Unwraps a handle returned by the shim, or throws its last error.
@inline(__always)
func checked<T>(_ handle: T?) throws(VisionError) -> T {
    guard let handle else { throw VisionError.last() }
    return handle
}

/// Throws the shim's last error when a status is negative.
@inline(__always)
func checked(_ status: Int32) throws(VisionError) {
    if status < 0 { throw VisionError.last() }
}
