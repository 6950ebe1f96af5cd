// The few NumPy routines the reference's metrics use, with NumPy's arithmetic (its summation order, interpolation
// and rounding), so that our numbers match the reference's to the last bits rather than to a tolerance.

enum NumPy {
    /// `np.linspace(start, stop, num)`: `i * step + start`, with the last value exactly `stop`.
    static func linspace(_ start: Double, _ stop: Double, _ num: Int) -> [Double] {
        guard num > 1 else { return num == 1 ? [start] : [] }
        let step = (stop - start) / Double(num - 1)
        var values = (0..<num).map { Double($0) * step + start }
        values[num - 1] = stop
        return values
    }

    /// `np.add.reduce` of a 1-D array: pairwise summation with an 8-way unrolled base case.
    static func sum(_ a: [Double]) -> Double { pairwiseSum(a[...]) }

    private static func pairwiseSum(_ a: ArraySlice<Double>) -> Double {
        let n = a.count, s = a.startIndex
        if n < 8 { return a.reduce(0.0, +) }
        if n <= 128 {
            var r = Array(a[s..<(s + 8)])
            var i = 8
            while i < n - n % 8 {
                for k in 0..<8 { r[k] += a[s + i + k] }
                i += 8
            }
            var total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n {
                total += a[s + i]
                i += 1
            }
            return total
        }
        var half = n / 2
        half -= half % 8
        return pairwiseSum(a[s..<(s + half)]) + pairwiseSum(a[(s + half)...])
    }

    /// `np.mean` of a 1-D array (NaN when empty, as NumPy).
    static func mean(_ a: [Double]) -> Double { sum(a) / Double(a.count) }

    /// `np.interp(x, xp, fp, left, right)` for ascending `xp` (repeats allowed: the last of equal points wins).
    static func interp(_ x: [Double], _ xp: [Double], _ fp: [Double], left: Double? = nil, right: Double? = nil)
        -> [Double]
    {
        precondition(!xp.isEmpty && xp.count == fp.count, "interp: xp and fp must be non-empty and of equal length")
        let outside = (left: left ?? fp[0], right: right ?? fp[fp.count - 1])
        return x.map { (value: Double) -> Double in interpolate(value, xp, fp, outside) }
    }

    private static func interpolate(
        _ value: Double, _ xp: [Double], _ fp: [Double], _ outside: (left: Double, right: Double)
    ) -> Double {
        let n = xp.count
        if value.isNaN { return value }
        if n == 1 { return value < xp[0] ? outside.left : value > xp[0] ? outside.right : fp[0] }
        if value > xp[n - 1] { return outside.right }
        if value < xp[0] { return outside.left }
        var low = 0, high = n  // find j, the last index with xp[j] <= value
        while low < high {
            let mid = low + (high - low) / 2
            if value >= xp[mid] { low = mid + 1 } else { high = mid }
        }
        let j = low - 1
        if j == n - 1 || xp[j] == value { return fp[j] }
        let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
        var y = slope * (value - xp[j]) + fp[j]
        if y.isNaN {  // NumPy retries from the other end, then falls back to a flat segment
            y = slope * (value - xp[j + 1]) + fp[j + 1]
            if y.isNaN && fp[j] == fp[j + 1] { y = fp[j] }
        }
        return y
    }

    /// `np.trapz(y, x)`: the sum of `(x[i+1] - x[i]) * (y[i+1] + y[i]) / 2`.
    static func trapezoid(_ y: [Double], _ x: [Double]) -> Double {
        guard y.count > 1 else { return 0 }
        let areas = (0..<(y.count - 1)).map { (i: Int) -> Double in
            let width = x[i + 1] - x[i], heights = y[i + 1] + y[i]
            return width * heights / 2.0
        }
        return sum(areas)
    }

    /// The reference's `smooth(y, f)`: a box filter `f` of the length wide, the ends padded with the end values.
    static func smooth(_ y: [Double], fraction f: Double) -> [Double] {
        guard let first = y.first, let last = y.last else { return y }
        let width = Int((Double(y.count) * f * 2).rounded(.toNearestOrEven)) / 2 + 1  // odd
        let pad = width / 2
        let padded = [Double](repeating: first, count: pad) + y + [Double](repeating: last, count: pad)
        let weight = 1.0 / Double(width)
        return (0..<y.count).map { i in
            var total = 0.0
            for k in 0..<width { total += padded[i + k] * weight }
            return total
        }
    }

    /// `np.argmax`: the first index of the largest value (a NaN counts as the largest, as in NumPy).
    static func argmax(_ a: [Double]) -> Int {
        var best = 0
        for i in a.indices.dropFirst() {
            if a[best].isNaN { return best }
            if a[i] > a[best] || a[i].isNaN { best = i }
        }
        return best
    }

    /// Indices that sort `values` in descending order, ties in input order.
    static func argsortDescending<T: Comparable>(_ values: [T]) -> [Int] {
        values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
    }
}
