// yolo: the command line as the reference's, `yolo [TASK] MODE key=value ...`.
import Foundation
import Torch
import YOLO

// libtorch's OpenMP default can be a single thread; use every core unless OMP_NUM_THREADS says otherwise.
if ProcessInfo.processInfo.environment["OMP_NUM_THREADS"] == nil {
    Runtime.threads = ProcessInfo.processInfo.activeProcessorCount
}
// As Python does: a write past the file-size limit (ulimit -f) fails with an error that names the file, instead of
// SIGXFSZ killing the process mid-write.
signal(SIGXFSZ, SIG_IGN)
let status = CommandLineTool.run(Array(CommandLine.arguments.dropFirst()))
exit(status)
