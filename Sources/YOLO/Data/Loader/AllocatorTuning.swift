import Foundation

/// Makes the C heap keep and reuse large freed blocks instead of returning them to the kernel.
///
/// Every sample allocates images of megabytes (a 1280x1280 mosaic canvas, the warped, HSV and flipped images), and
/// every batch tens of megabytes (its uint8 tensor, then the float32 input the trainer makes of it: 79 MB at
/// 16x3x640x640). glibc serves blocks that large with mmap and gives them back with munmap, so the kernel faults in
/// and zeroes every page again, each time: measured on the loader benchmark, a quarter of all CPU time. With mmap off
/// (M_MMAP_MAX = 0) and a high trim threshold, such blocks come from the heap and are reused; the price is that the
/// process keeps its peak heap size. Done once, when the first DataLoader or Predictor is made (a forward's
/// activations are as large), on Linux only (elsewhere there is no `mallopt` and this does nothing). Set
/// `DataLoader.tunesAllocator = false` before that to keep glibc's defaults.
public enum AllocatorTuning {
    public static let applied: Bool = {
        #if os(Linux)
            typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
            let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
            let trimThreshold: Int32 = -1
            let mmapMax: Int32 = -4  // M_TRIM_THRESHOLD, M_MMAP_MAX in <malloc.h>
            return mallopt(trimThreshold, 1 << 30) == 1 && mallopt(mmapMax, 0) == 1
        #else
            return false
        #endif
    }()
}
