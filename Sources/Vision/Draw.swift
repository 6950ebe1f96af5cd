import COpenCV

/// Drawing, in place. `antialiased` draws with LINE_AA as the reference's annotator does; `false` draws LINE_8,
/// whose pixels are exact.
extension Image {
    /// The outline of the rectangle with corners (x1, y1) and (x2, y2), both inclusive.
    public func drawRectangle(
        x1: Int, y1: Int, x2: Int, y2: Int, color: Color, thickness: Int = 1, antialiased: Bool = true
    ) throws {
        try checked(cvs_draw_rectangle(
            handle, Int32(x1), Int32(y1), Int32(x2), Int32(y2), Double(color.b), Double(color.g), Double(color.r),
            Int32(max(thickness, 1)), antialiased ? 1 : 0))
    }

    /// The rectangle with corners (x1, y1) and (x2, y2), both inclusive, filled.
    public func fillRectangle(x1: Int, y1: Int, x2: Int, y2: Int, color: Color) throws {
        try checked(cvs_draw_rectangle(
            handle, Int32(x1), Int32(y1), Int32(x2), Int32(y2), Double(color.b), Double(color.g), Double(color.r),
            -1, 0))
    }

    /// Text in FONT_HERSHEY_SIMPLEX with the left end of its baseline at (x, y).
    public func drawText(
        _ text: String, x: Int, y: Int, scale: Double = 1, color: Color, thickness: Int = 1, antialiased: Bool = true
    ) throws {
        try checked(cvs_put_text(
            handle, text, Int32(x), Int32(y), scale, Double(color.b), Double(color.g), Double(color.r),
            Int32(max(thickness, 1)), antialiased ? 1 : 0))
    }

    /// The size of `text` as drawText draws it: width, height above the baseline, and the depth below it.
    public static func textSize(_ text: String, scale: Double = 1, thickness: Int = 1) throws
        -> (width: Int, height: Int, baseline: Int)
    {
        var width: Int32 = 0, height: Int32 = 0, baseline: Int32 = 0
        try checked(cvs_text_size(text, scale, Int32(max(thickness, 1)), &width, &height, &baseline))
        return (Int(width), Int(height), Int(baseline))
    }
}
