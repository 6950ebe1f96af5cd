import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a progress bar writes. A terminal gets one line redrawn in place; anything else (a CI log, a file, a
/// pipe) gets whole lines, so the log reads as a list of states instead of a run of carriage returns.
public struct ProgressOutput: Sendable {
    public var isTerminal: Bool
    /// The terminal's width in columns, when known: longer lines are cut in the description.
    public var columns: @Sendable () -> Int?
    public var write: @Sendable (String) -> Void

    public init(
        isTerminal: Bool, columns: @escaping @Sendable () -> Int? = { nil },
        write: @escaping @Sendable (String) -> Void
    ) {
        self.isTerminal = isTerminal
        self.columns = columns
        self.write = write
    }

    /// Standard output, a terminal when it is one (and TERM is not "dumb").
    public static var standardOutput: ProgressOutput { stream(fd: STDOUT_FILENO) }

    /// Standard error, for tools whose standard output is data.
    public static var standardError: ProgressOutput { stream(fd: STDERR_FILENO) }

    private static func stream(fd: Int32) -> ProgressOutput {
        let terminal = isatty(fd) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        return ProgressOutput(
            isTerminal: terminal, columns: { terminalColumns(fd: fd) },
            write: { text in
                if fd == STDERR_FILENO {
                    FileHandle.standardError.write(Data(text.utf8))  // stderr is unbuffered
                } else {
                    // Through Swift's print, so bar frames and printed lines keep their order; fflush(nil)
                    // flushes stdout without naming the C global.
                    print(text, terminator: "")
                    fflush(nil)
                }
            })
    }

    private static func terminalColumns(fd: Int32) -> Int? {
        var size = winsize()
        #if canImport(Glibc)
        let request = UInt(TIOCGWINSZ)
        #else
        let request = TIOCGWINSZ
        #endif
        if ioctl(fd, request, &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init)
    }
}
