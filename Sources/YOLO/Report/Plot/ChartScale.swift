import Foundation

/// The arithmetic of a chart: axis limits, round tick values and their labels, and the reference's smoothing.
enum ChartScale {
    /// Limits covering `values` with matplotlib's 5% margin each side; a flat series gets a small band around it.
    static func limits(_ values: [Double], margin: Double = 0.05) -> (low: Double, high: Double) {
        let finite = values.filter(\.isFinite)
        guard var low = finite.min(), var high = finite.max() else { return (0, 1) }
        if high - low < 1e-12 * max(1, abs(high)) {
            let pad = low == 0 ? 0.5 : abs(low) * 0.05
            low -= pad
            high += pad
        } else {
            let pad = (high - low) * margin
            low -= pad
            high += pad
        }
        return (low, high)
    }

    /// Round tick values inside [low, high], about `target` of them, spaced 1, 2, 2.5 or 5 times a power of ten;
    /// `integers` (epochs) keeps to whole steps of 1, 2 or 5 times a power of ten, up to two more ticks.
    static func ticks(low: Double, high: Double, target: Int = 5, integers: Bool = false) -> [Double] {
        guard high > low, low.isFinite, high.isFinite else { return [low] }
        let rough = integers ? max((high - low) / Double(target + 2), 1) : (high - low) / Double(target)
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        let multiples: [Double] = integers ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10]
        let step = multiples.map { $0 * magnitude }.first { $0 >= rough * 0.999 } ?? 10 * magnitude
        // Multiples of the step, rounded to its decimals so labels and positions agree (0.6, not 0.6000000000000001).
        let scale = pow(10, Double(decimals(for: step)))
        var values: [Double] = []
        var k = (low / step).rounded(.up)
        while k * step <= high + step * 1e-9, values.count < 50 {
            values.append((k * step * scale).rounded() / scale + 0)
            k += 1
        }
        return values
    }

    /// Labels with as many decimals as the tick step needs, all alike: 0.00 0.25 0.50 / 1 2 3.
    static func labels(_ ticks: [Double]) -> [String] {
        guard ticks.count > 1 else { return ticks.map { format($0, decimals: decimals(for: abs($0))) } }
        let step = abs(ticks[1] - ticks[0])
        let d = decimals(for: step)
        return ticks.map { format($0, decimals: d) }
    }

    private static func decimals(for step: Double) -> Int {
        guard step > 0, step.isFinite else { return 0 }
        for d in 0 ... 8 {
            let scaled = step * pow(10, Double(d))
            if abs(scaled - scaled.rounded()) < 1e-6 * max(1, scaled) { return d }
        }
        return 8
    }

    private static func format(_ v: Double, decimals: Int) -> String {
        String(format: "%.\(decimals)f", v)
    }

    /// The reference's smoothing line: a Gaussian filter (sigma 3, truncated at 4 sigma) with mirrored ends, as
    /// scipy's gaussian_filter1d in 'reflect' mode.
    static func smooth(_ y: [Double], sigma: Double = 3, truncate: Double = 4) -> [Double] {
        let n = y.count
        guard n > 1 else { return y }
        let radius = Int(truncate * sigma + 0.5)
        var kernel = (-radius ... radius).map { exp(-0.5 * pow(Double($0) / sigma, 2)) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        // Mirror the series past both ends (..., y1, y0 | y0, y1, ... y[n-1] | y[n-1], ...), repeatedly if short.
        func at(_ i: Int) -> Double {
            let m = ((i % (2 * n)) + 2 * n) % (2 * n)
            return y[m < n ? m : 2 * n - 1 - m]
        }
        return (0 ..< n).map { i in
            kernel.enumerated().reduce(0) { $0 + $1.element * at(i + $1.offset - radius) }
        }
    }
}
