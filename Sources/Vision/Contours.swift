import COpenCV

/// A point on the pixel grid.
public struct PixelPoint: Equatable, Hashable, Sendable {
    public var x: Int32, y: Int32
    public init(x: Int32, y: Int32) { (self.x, self.y) = (x, y) }
}

extension Image {
    /// Polygons with whole-pixel corners filled in one cv::fillPoly call (LINE_8), as the reference rasterises
    /// label polygons into masks.
    public func fillPolygons(_ polygons: [[PixelPoint]], color: Color) throws {
        guard !polygons.isEmpty else { return }
        let xy = polygons.flatMap { $0.flatMap { [$0.x, $0.y] } }
        let counts = polygons.map { Int32($0.count) }
        try checked(cvs_fill_polygons_int(
            handle, xy, counts, Int32(polygons.count), Double(color.b), Double(color.g), Double(color.r)))
    }

    /// The outer contours of the non-zero pixels of a 1-channel image, as cv::findContours with RETR_EXTERNAL and
    /// CHAIN_APPROX_SIMPLE (corner points only), in OpenCV's order.
    public func externalContours() throws -> [[PixelPoint]] {
        guard channels == 1 else { throw VisionError("contours need a 1-channel image, got \(channels) channels") }
        var xy: UnsafeMutablePointer<Int32>?, counts: UnsafeMutablePointer<Int32>?
        let n = cvs_find_contours(handle, &xy, &counts)
        defer { cvs_buffer_free(xy); cvs_buffer_free(counts) }
        try checked(n)
        var contours: [[PixelPoint]] = [], k = 0
        for i in 0..<Int(n) {
            let count = Int(counts![i])
            contours.append((0..<count).map { j in PixelPoint(x: xy![2 * (k + j)], y: xy![2 * (k + j) + 1]) })
            k += count
        }
        return contours
    }
}
