/// SplitMix64 (Steele, Lea and Flood 2014): a tiny seeded generator whose output is fixed by its seed on every
/// platform and Swift version. The built-in dataset uses it instead of the system generator and instead of the
/// standard library's `random(in:using:)`, whose algorithms may change between releases.
struct SplitMixRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A generator for item `index` of `stream` under `seed`: items are independent, so they can be made in any
    /// order or in parallel and still come out the same.
    init(seed: UInt64, stream: UInt64, index: Int) {
        var mixer = SplitMixRandom(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
        for _ in 0 ..< 2 { _ = mixer.next() }
        self.init(seed: mixer.next() ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
        _ = next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [low, high).
    mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * unit() }

    /// Uniform over `range` (the multiply-shift bias is below 2^-32 for the small ranges used here).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        let count = UInt64(range.upperBound - range.lowerBound + 1)
        return range.lowerBound + Int(((next() >> 32) &* count) >> 32)
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { unit() < p }
}
