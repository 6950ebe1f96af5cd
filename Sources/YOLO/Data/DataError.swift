import Foundation

/// An error in a dataset: a YAML that does not describe one, a split that is missing or empty, a scan that found no
/// usable image. The message names the file (and the key or line) and what was expected.
public struct DataError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The size of an image in pixels.
public struct ImageShape: Sendable, Hashable, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    public var description: String { "(\(height), \(width))" }
}

/// Where a letterboxed image sits in the network input, to map boxes back to the original image (the reference's
/// `ratio_pad`): input pixels = original pixels × ratio + pad.
public struct RatioPad: Sendable, Equatable {
    public var ratioHeight: Double
    public var ratioWidth: Double
    public var padLeft: Double
    public var padTop: Double

    public init(ratioHeight: Double, ratioWidth: Double, padLeft: Double = 0, padTop: Double = 0) {
        self.ratioHeight = ratioHeight
        self.ratioWidth = ratioWidth
        self.padLeft = padLeft
        self.padTop = padTop
    }
}

/// Where dataset warnings and summaries go. The default writes to standard error; tests collect the lines.
public typealias DataLog = @Sendable (String) -> Void

public enum DataLogging {
    public static let standardError: DataLog = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
    public static let silent: DataLog = { _ in }
}
