import Foundation

/// A progress line in the reference's format:
///
///     train: 45% ━━━━━╸────── 9/20 3.2it/s 0:02<0:03
///
/// description, percent, bar, count/total, rate (it/s, or s/it below one per second), elapsed<remaining.
/// On a terminal the line is redrawn in place at most every `minInterval` seconds; elsewhere (CI logs) a whole line
/// is printed at most every `logInterval` seconds, plus the final state on `close()`.
///
///     let bar = ProgressBar(total: batches, description: "train")
///     for batch in batches { ...; bar.description = "..."; bar.update() }
///     bar.close()
///
/// Safe to call from several threads (a lock guards its state), though one writer is the intended use.
public final class ProgressBar: @unchecked Sendable {
    public let total: Int?
    public let unit: String
    private let output: ProgressOutput
    private let minInterval: Double
    private let logInterval: Double
    private let clock: @Sendable () -> Double
    private let lock = NSLock()

    private var text: String
    private var n = 0
    private let start: Double
    private var lastPrintTime: Double
    private var lastPrintCount = 0
    private var lastRate: Double?
    private var shown = false
    private var closed = false

    /// The seconds of a monotonic clock (never jumps with the wall clock).
    public static let monotonicClock: @Sendable () -> Double = {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    /// - Parameters:
    ///   - total: the count at completion, or nil when unknown (no percent, no ETA).
    ///   - minInterval: the shortest time between redraws on a terminal.
    ///   - logInterval: the shortest time between lines elsewhere.
    ///   - clock: seconds; tests inject their own.
    public init(
        total: Int?, description: String = "", unit: String = "it", output: ProgressOutput = .standardOutput,
        minInterval: Double = 0.1, logInterval: Double = 30,
        clock: @escaping @Sendable () -> Double = ProgressBar.monotonicClock
    ) {
        self.total = (total ?? 0) > 0 ? total : nil
        self.text = description
        self.unit = unit
        self.output = output
        self.minInterval = minInterval
        self.logInterval = logInterval
        self.clock = clock
        start = clock()
        lastPrintTime = start
        if output.isTerminal, self.total != nil { lock.withLock { display(force: true) } }
    }

    /// The text before the colon; setting it redraws as often as `update` does.
    public var description: String {
        get { lock.withLock { text } }
        set { lock.withLock { text = newValue; display(force: false) } }
    }

    /// How many items are done.
    public var count: Int { lock.withLock { n } }

    /// Counts `step` more items done.
    public func update(_ step: Int = 1) {
        lock.withLock {
            guard !closed else { return }
            n += step
            display(force: false)
        }
    }

    /// Prints `line` above the bar without breaking it.
    public func write(_ line: String) {
        lock.withLock {
            if output.isTerminal, shown, !closed {
                output.write("\r\u{1B}[K" + line + "\n")
                lastPrintCount = -1  // forces the next frame
                display(force: true)
            } else {
                output.write(line + "\n")
            }
        }
    }

    /// Shows the final state and ends the line. Later updates are ignored.
    public func close() {
        lock.withLock {
            guard !closed else { return }
            if let total, n >= total { n = total }
            if !shown || n != lastPrintCount || !output.isTerminal { display(force: true) }
            closed = true
            if output.isTerminal { output.write("\n") }
        }
    }

    deinit { close() }

    /// The line as it would be drawn at `now` for the current state (no side effects).
    public func line(at now: Double) -> String {
        lock.withLock { compose(now: now, rate: rate(now: now, commit: false)).line }
    }

    // MARK: - Drawing

    private func display(force: Bool) {
        let now = clock()
        if !force {
            let done = total.map { n >= $0 } ?? false
            if output.isTerminal {
                guard done || now - lastPrintTime >= minInterval else { return }
            } else {
                // A log gets the final state from close(), and otherwise one line per logInterval.
                guard !done, now - lastPrintTime >= logInterval else { return }
            }
        }
        let rate = rate(now: now, commit: true)
        var (line, fields) = compose(now: now, rate: rate)
        lastPrintTime = now
        lastPrintCount = n
        shown = true
        if output.isTerminal {
            if let columns = output.columns(), columns > 1 { line = fit(fields: fields, width: columns - 1) }
            output.write("\r\u{1B}[K" + line)
        } else {
            output.write(line + "\n")
        }
    }

    /// Items per second: an exponential average over redraws (smooth while running), the overall rate at the end.
    private func rate(now: Double, commit: Bool) -> Double {
        let dt = now - lastPrintTime
        var rate = lastRate ?? 0
        if dt > 0.01 {
            let current = Double(n - lastPrintCount) / dt
            rate = lastRate.map { 0.3 * current + 0.7 * $0 } ?? current
            if commit { lastRate = rate }
        }
        if let total, n >= total, now - start > 0 { rate = Double(n) / (now - start) }
        return rate
    }

    private func compose(now: Double, rate: Double) -> (line: String, fields: String) {
        let elapsed = max(0, now - start)
        var rateText = ProgressBar.formatRate(rate, unit: unit)
        if rateText.isEmpty, elapsed > 0 { rateText = ProgressBar.formatRate(Double(n) / elapsed, unit: unit) }
        let fields: String
        if let total {
            var remaining = ""
            if n > 0, n < total, elapsed > 0 {
                let estimate = rate > 0 ? rate : Double(n) / elapsed
                remaining = "<" + ProgressBar.formatTime(Double(total - n) / estimate)
            }
            let percent = Int(Double(n) / Double(total) * 100)
            let bar = ProgressBar.bar(fraction: Double(n) / Double(total))
            fields = "\(percent)% \(bar) \(n)/\(total) \(rateText) \(ProgressBar.formatTime(elapsed))\(remaining)"
        } else {
            fields = "\(ProgressBar.bar(fraction: closed ? 1 : 0)) \(n) \(rateText) \(ProgressBar.formatTime(elapsed))"
        }
        return (text.isEmpty ? fields : "\(text): \(fields)", fields)
    }

    /// The line cut to `width` characters, shortening the description first.
    private func fit(fields: String, width: Int) -> String {
        if text.isEmpty { return String(fields.prefix(width)) }
        let room = width - fields.count - 2
        if text.count <= room { return "\(text): \(fields)" }
        if room < 2 { return String(fields.prefix(width)) }
        return "\(text.prefix(room - 1))…: \(fields)"
    }

    // MARK: - Formats (the reference's)

    /// "3.2it/s", "1.5Kit/s", or "2.1s/it" below one item per second; "" for no rate.
    public static func formatRate(_ rate: Double, unit: String = "it") -> String {
        guard rate > 0, rate.isFinite else { return "" }
        if 1 / rate > 1 { return String(format: "%.1f", 1 / rate) + "s/\(unit)" }
        for (scale, prefix) in [(1e9, "G"), (1e6, "M"), (1e3, "K")] where rate >= scale {
            return String(format: "%.1f", rate / scale) + "\(prefix)\(unit)/s"
        }
        return String(format: "%.1f", rate) + "\(unit)/s"
    }

    /// "4.2s" under a minute, then "1:05" or "1:02:03".
    public static func formatTime(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        if seconds < 59.95 { return String(format: "%.1fs", seconds) }
        let total = Int(seconds.rounded(.toNearestOrEven))
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }

    /// Twelve cells of "━" (done) and "─" (to do), with a half cell "╸" past the middle of the next one.
    public static func bar(fraction: Double, width: Int = 12) -> String {
        let f = min(1, max(0, fraction)) * Double(width)
        let filled = Int(f)
        var cells = String(repeating: "━", count: filled) + String(repeating: "─", count: width - filled)
        if filled < width, f - Double(filled) > 0.5 {
            cells = String(repeating: "━", count: filled) + "╸"
                + String(repeating: "─", count: width - filled - 1)
        }
        return cells
    }
}
