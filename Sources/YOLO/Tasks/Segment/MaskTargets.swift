import Vision

/// How a segmentation batch carries its masks (the reference's `Format(return_mask=True)`): rasterised at the
/// image size divided by `ratio` (`mask_ratio`), as one index map per image whose objects are reordered largest
/// first (`overlap_mask=True`), or one mask per object.
public struct MaskFormat: Sendable, Equatable {
    public var ratio: Int
    public var overlap: Bool
    public init(ratio: Int = 4, overlap: Bool = true) { (self.ratio, self.overlap) = (ratio, overlap) }
}

/// One image's masks, as the batch writer makes them: `values` (1 or n, h, w) row-major, and the order its
/// objects take in the batch (by area, largest first, with overlap; as given otherwise).
struct SampleMasks {
    let values: [Int32]
    let planes: Int
    let order: [Int]
}

enum MaskRasterizer {
    /// A polygon filled at the image's size with whole-pixel corners (truncated, as numpy's int32 cast), then
    /// resized to (height / ratio, width / ratio) bilinearly: the reference's `polygon2mask`.
    static func mask(_ polygon: [SIMD2<Float>], height: Int, width: Int, ratio: Int) throws -> [UInt8] {
        let canvas = try Image(width: width, height: height, channels: 1)
        try canvas.fillPolygons([polygon.map { PixelPoint(x: Int32($0.x), y: Int32($0.y)) }], color: Color(gray: 1))
        guard ratio > 1 else { return canvas.bytes }
        return try canvas.resized(width: width / ratio, height: height / ratio).bytes
    }

    /// An image's masks in `format` (the reference's `polygons2masks_overlap` or `polygons2masks`).
    static func masks(_ segments: [[SIMD2<Float>]], height: Int, width: Int, format: MaskFormat) throws -> SampleMasks {
        let (h, w) = (height / format.ratio, width / format.ratio)
        let each = try segments.map { try mask($0, height: height, width: width, ratio: format.ratio) }
        guard format.overlap else {
            return SampleMasks(values: each.flatMap { $0.map(Int32.init) }, planes: each.count, order: Array(each.indices))
        }
        let areas = each.map { $0.reduce(0) { $0 + Int($1) } }
        let order = each.indices.sorted { areas[$0] > areas[$1] || (areas[$0] == areas[$1] && $0 < $1) }
        var map = [Int32](repeating: 0, count: h * w)
        for (rank, object) in order.enumerated() {  // a running maximum: smaller objects drawn over larger ones
            let value = Int32(rank + 1)
            for (p, pixel) in each[object].enumerated() where pixel != 0 { map[p] = Swift.max(map[p], value * Int32(pixel)) }
        }
        return SampleMasks(values: map, planes: 1, order: order)
    }
}
