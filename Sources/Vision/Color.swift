/// A BGR colour, in OpenCV's channel order. An integer literal is a grey: `padded(..., value: 114)`.
/// On a 1-channel image only `b` is used; on a 4-channel image alpha is 255.
public struct Color: Equatable, Hashable, Sendable, ExpressibleByIntegerLiteral {
    public var b: UInt8
    public var g: UInt8
    public var r: UInt8

    public init(b: UInt8, g: UInt8, r: UInt8) {
        self.b = b
        self.g = g
        self.r = r
    }

    public init(gray: UInt8) { self.init(b: gray, g: gray, r: gray) }

    public init(integerLiteral value: UInt8) { self.init(gray: value) }

    public static let black = Color(gray: 0)
    public static let white = Color(gray: 255)
}
