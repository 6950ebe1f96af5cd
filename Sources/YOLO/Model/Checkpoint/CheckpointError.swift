/// A checkpoint that cannot be read: the message names the file and says what was wrong with it.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    /// An error about `file`: "file: reason".
    init(file: String, _ reason: String) { self.message = "\(file): \(reason)" }

    public var description: String { message }
}

/// What went wrong inside the reader, before it is known which file it was; `CheckpointError(file:)` adds the
/// name at the public entry points.
struct CheckpointFailure: Error, CustomStringConvertible {
    let reason: String
    init(_ reason: String) { self.reason = reason }
    var description: String { reason }
}

/// Runs `body`, turning any error it throws into a `CheckpointError` that names `file`.
func namingFile<T>(_ file: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CheckpointError {
        throw error
    } catch let failure as CheckpointFailure {
        throw CheckpointError(file: file, failure.reason)
    } catch {
        throw CheckpointError(file: file, "\(error)")
    }
}
