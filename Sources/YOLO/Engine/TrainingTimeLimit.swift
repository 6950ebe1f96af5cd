import Foundation

/// `time=` (hours): a training budget that replaces `epochs`, as the reference's trainer does: training stops at the
/// first optimizer step past the budget, and after every epoch the number of epochs is re-estimated as
/// ceil(budget / mean epoch time) so that the lr schedule and `close_mosaic` end with the budget.
struct TrainingTimeLimit {
    let seconds: Double
    let start: Date
    /// The time now; replaceable so that tests can run the clock.
    var clock: () -> Date = Date.init

    /// Nil when `hours` is nil or not positive (the reference treats `time=0` as no limit).
    init?(hours: Double?, start: Date = Date()) {
        guard let hours, hours > 0 else { return nil }
        seconds = hours * 3600
        self.start = start
    }

    var elapsed: Double { clock().timeIntervalSince(start) }
    var exceeded: Bool { elapsed > seconds }

    /// The epochs that fit the budget, given that `epochsDone` epochs (this session's) took `elapsed`.
    func epochs(afterCompleting epochsDone: Int) -> Int {
        let mean = elapsed / Double(Swift.max(epochsDone, 1))
        guard mean > 0 else { return Int.max / 2 }
        return Swift.max(1, Int(Swift.min((seconds / mean).rounded(.up), 1e9)))
    }
}
