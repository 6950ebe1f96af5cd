import Foundation

/// Ctrl-C (SIGINT) and SIGTERM ask a running training to stop after its current step; a second Ctrl-C is left to
/// the default handler (stops at once).
enum Interruption {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0

    static var requested: Bool { flag != 0 }

    static func install() {
        flag = 0
        signal(SIGINT) { _ in
            if Interruption.flag != 0 { signal(SIGINT, SIG_DFL); raise(SIGINT) }
            Interruption.flag = 1
        }
        signal(SIGTERM) { _ in Interruption.flag = 1 }
    }

    static func uninstall() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
