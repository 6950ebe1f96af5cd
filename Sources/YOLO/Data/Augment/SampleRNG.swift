import Foundation

/// The random numbers of one sample: xoshiro256** seeded through SplitMix64 from (seed, epoch, index), so a sample's
/// augmentation depends only on those and never on which worker thread made it or when.
public struct SampleRNG: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// A generator for `stream` values: mixing each into a SplitMix64 state gives independent, well-spread seeds.
    public init(_ stream: UInt64...) {
        var mix: UInt64 = 0x9E37_79B9_7F4A_7C15
        for value in stream { mix = SampleRNG.splitMix(&mix) ^ value &* 0xD1B5_4A32_D192_ED03 }
        var state = mix
        s = (
            SampleRNG.splitMix(&state), SampleRNG.splitMix(&state), SampleRNG.splitMix(&state),
            SampleRNG.splitMix(&state)
        )
    }

    private static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [a, b] (Python's `random.uniform(a, b)`).
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * unit() }

    /// Uniform integer in `range` (Python's `random.randint` over a closed range).
    public mutating func int(in range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    /// Whether an augmentation of probability `p` happens, as the reference decides
    /// (`random.uniform(0, 1) > p` skips it): p = 1 always, p = 0 never.
    public mutating func happens(_ p: Double) -> Bool { p > 0 && unit() <= p }

    /// A Beta(a, b) variate (numpy's `random.beta`), through two Gamma variates.
    public mutating func beta(_ a: Double, _ b: Double) -> Double {
        let x = gamma(a)
        let y = gamma(b)
        return x / (x + y)
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang's method (shape >= 1).
    mutating func gamma(_ shape: Double) -> Double {
        let d = shape - 1.0 / 3.0
        let c = 1.0 / (9.0 * d).squareRoot()
        while true {
            var x = 0.0
            var v = 0.0
            repeat {
                x = normal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = unit()
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// A standard normal variate (Box–Muller).
    mutating func normal() -> Double {
        let u1 = max(unit(), .leastNonzeroMagnitude)
        let u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// A random order of 0..<n (Fisher–Yates, written out so that it never changes with the standard library).
    public mutating func permutation(_ n: Int) -> [Int] {
        var order = Array(0..<n)
        if n < 2 { return order }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            order.swapAt(i, j)
        }
        return order
    }
}
