import COpenCV

/// Resampling filters (OpenCV's INTER_*).
public enum Interpolation: Int32, Sendable {
    case nearest = 0, linear = 1, cubic = 2, area = 3
}

/// Colour space conversions (OpenCV's COLOR_*; HSV is OpenCV's 8-bit HSV, hue in 0..<180).
public enum ColorConversion: Int32, Sendable {
    case bgrToRGB = 0, rgbToBGR, bgrToHSV, hsvToBGR, bgrToGray, grayToBGR, bgraToBGR, bgrToBGRA
}

/// Transforms: each returns a new image and leaves this one as it was.
extension Image {
    public func resized(width: Int, height: Int, interpolation: Interpolation = .linear) throws -> Image {
        Image(handle: try checked(cvs_resize(handle, Int32(width), Int32(height), interpolation.rawValue)))
    }

    /// cv2.copyMakeBorder with a constant border.
    public func padded(top: Int = 0, bottom: Int = 0, left: Int = 0, right: Int = 0, value: Color = .black) throws
        -> Image
    {
        Image(handle: try checked(cvs_pad(
            handle, Int32(top), Int32(bottom), Int32(left), Int32(right), Double(value.b), Double(value.g),
            Double(value.r))))
    }

    /// cv2.warpAffine: `matrix` is 2x3 row-major (6 values), mapping source to destination coordinates.
    public func warpAffine(
        _ matrix: [Double], width: Int, height: Int, interpolation: Interpolation = .linear, border: Color = .black
    ) throws -> Image {
        guard matrix.count == 6 else { throw VisionError("warpAffine: need 6 matrix values, got \(matrix.count)") }
        return Image(handle: try checked(cvs_warp_affine(
            handle, matrix, Int32(width), Int32(height), interpolation.rawValue, Double(border.b), Double(border.g),
            Double(border.r))))
    }

    /// cv2.warpPerspective: `matrix` is 3x3 row-major (9 values), mapping source to destination coordinates.
    public func warpPerspective(
        _ matrix: [Double], width: Int, height: Int, interpolation: Interpolation = .linear, border: Color = .black
    ) throws -> Image {
        guard matrix.count == 9 else {
            throw VisionError("warpPerspective: need 9 matrix values, got \(matrix.count)")
        }
        return Image(handle: try checked(cvs_warp_perspective(
            handle, matrix, Int32(width), Int32(height), interpolation.rawValue, Double(border.b), Double(border.g),
            Double(border.r))))
    }

    public func converted(to conversion: ColorConversion) throws -> Image {
        Image(handle: try checked(cvs_cvt_color(handle, conversion.rawValue)))
    }

    /// Maps each pixel through 256-entry tables: one table for every channel, or table i for channel i (the
    /// reference's HSV augmentation: `cv2.merge((cv2.LUT(h, lut_h), cv2.LUT(s, lut_s), cv2.LUT(v, lut_v)))`).
    public func lut(_ tables: [[UInt8]]) throws -> Image {
        guard tables.allSatisfy({ $0.count == 256 }) else { throw VisionError("lut: every table needs 256 entries") }
        let flat = tables.flatMap { $0 }
        return Image(handle: try checked(cvs_lut(handle, flat, Int32(tables.count))))
    }

    /// Mirrored left-right (`horizontal`) and/or upside down (`vertical`).
    public func flipped(horizontal: Bool = false, vertical: Bool = false) throws -> Image {
        switch (horizontal, vertical) {
        case (true, true): return Image(handle: try checked(cvs_flip(handle, -1)))
        case (true, false): return Image(handle: try checked(cvs_flip(handle, 1)))
        case (false, true): return Image(handle: try checked(cvs_flip(handle, 0)))
        case (false, false): return try copy()
        }
    }

    /// A copy of a rectangle that lies inside the image.
    public func cropped(x: Int, y: Int, width: Int, height: Int) throws -> Image {
        Image(handle: try checked(cvs_crop(handle, Int32(x), Int32(y), Int32(width), Int32(height))))
    }

    /// Copies `source` (or the `region` of it) into this image with its top-left corner at (x, y), in place.
    /// Both rectangles must lie inside their images (the mosaic's `img4[y1a:y2a, x1a:x2a] = img[y1b:y2b, x1b:x2b]`).
    public func paste(
        _ source: Image, x: Int, y: Int, region: (x: Int, y: Int, width: Int, height: Int)? = nil
    ) throws {
        let r = region ?? (0, 0, source.width, source.height)
        try checked(cvs_copy_region(
            handle, Int32(x), Int32(y), source.handle, Int32(r.x), Int32(r.y), Int32(r.width), Int32(r.height)))
    }
}
