import Torch

/// COCO's run-length encoding of one binary mask, with pycocotools' compressed `counts` string: what the reference's
/// segmentation validator writes as a detection's `segmentation` in predictions.json.
public struct COCOMaskRLE: Equatable, Sendable {
    public var height: Int, width: Int
    public var counts: String

    /// `mask`: (height, width) row-major, non-zero where set. The runs go down each column in turn (COCO's Fortran
    /// order) and start with the unset pixels (a first run of 0 when the first pixel is set).
    public init(mask: [UInt8], height: Int, width: Int) {
        var runs: [Int] = []
        var current = false, run = 0
        for x in 0..<width {
            for y in 0..<height {
                let set = mask[y * width + x] != 0
                if set != current {
                    runs.append(run)
                    (run, current) = (0, set)
                }
                run += 1
            }
        }
        runs.append(run)
        (self.height, self.width, counts) = (height, width, COCOMaskRLE.compress(runs))
    }

    /// pycocotools' `rleToString`: from the fourth run on, each run minus the one two before; every number in signed
    /// 5-bit groups, lowest first, a 0x20 bit where another group follows, offset by 48 into printable characters.
    static func compress(_ runs: [Int]) -> String {
        var out: [UInt8] = []
        for i in runs.indices {
            var x = runs[i] - (i > 2 ? runs[i - 2] : 0)
            var more = true
            while more {
                var c = x & 0x1F
                x >>= 5
                more = (c & 0x10) != 0 ? x != -1 : x != 0
                if more { c |= 0x20 }
                out.append(UInt8(c + 48))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Masks (n, H, W) of a letterboxed input in the original image's pixels, as the reference's `scale_masks` with the
/// batch's ratio and padding: the padding cropped, the rest resized bilinearly, then truncated to 0/1 as its
/// `.byte()` (so only pixels whose every neighbour is set stay set at the edges).
func masksInOriginalPixels(_ masks: Tensor, ratioPad: RatioPad, original: ImageShape) throws -> Tensor {
    let (h, w) = (masks.size(1), masks.size(2))
    if (h, w) == (original.height, original.width) || masks.size(0) == 0 {
        return try masks.size(0) == 0 ? Tensor.zeros([0, original.height, original.width], dtype: .uint8) : masks.to(.uint8)
    }
    func pythonRound(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }
    let top = pythonRound(ratioPad.padTop - 0.1), left = pythonRound(ratioPad.padLeft - 0.1)
    let bottom = top + max(pythonRound(Double(original.height) * ratioPad.ratioHeight), 1)
    let right = left + max(pythonRound(Double(original.width) * ratioPad.ratioWidth), 1)
    let content = try masks.slice(dim: 1, start: top, end: min(bottom, h)).slice(dim: 2, start: left, end: min(right, w))
    return try content.to(.float32).unsqueeze(0).upsampleBilinear(height: original.height, width: original.width)
        .squeeze(0).to(.uint8)
}
