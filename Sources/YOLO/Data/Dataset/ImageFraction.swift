import Foundation

/// How much of the training split to use (the reference's `fraction`): a ratio of its images or a count of them,
/// always the first ones in sorted order, so that a smaller run sees a fixed subset.
public enum ImageFraction: Sendable, Equatable {
    case ratio(Double)
    case count(Int)

    public static let all = ImageFraction.ratio(1)

    /// From the `fraction` argument: a number (an integer other than 0 and 1 is a count, as the reference's
    /// `get_split_fraction` reads it), or a [train, val, test] list whose first entry is the training split's.
    public init(_ value: ConfigValue?) throws {
        var value = value ?? .double(1)
        if case .list(let items) = value { value = items.first ?? .double(1) }
        switch value {
        case .int(let n) where n == 0 || n == 1: self = .ratio(Double(n))
        case .int(let n): self = .count(n)
        case .double(let r): self = .ratio(r)
        case .null: self = .all
        default: throw DataError("fraction=\(value) is invalid: expected a ratio in (0, 1] or an image count")
        }
        let selects: Bool
        switch self {
        case .ratio(let r): selects = r > 0
        case .count(let n): selects = n > 0
        }
        guard selects else {
            throw DataError("train fraction must select at least one image, got fraction=\(value)")
        }
    }

    /// How many of `total` images to keep: `round(total * ratio)` (half to even, as Python's `round`), at least 1.
    public func count(of total: Int) -> Int {
        switch self {
        case .ratio(let r): min(total, max(1, Int((Double(total) * r).rounded(.toNearestOrEven))))
        case .count(let n): min(total, n)
        }
    }
}
