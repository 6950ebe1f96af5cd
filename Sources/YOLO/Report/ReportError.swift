/// A failure writing or reading a report file, naming the file.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
