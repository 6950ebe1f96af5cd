import Foundation
import Torch
import Vision

/// A chart of a fixed size in pixels, drawn once against `Canvas` and rendered by either back end.
///
///     let plot = CurvePlot.precisionRecall(results)
///     try plot.write(to: run.url.appendingPathComponent("BoxPR_curve.png"))   // or .jpg
///     let svg = try plot.svg()                                                // for a report
public protocol Figure {
    var width: Int { get }
    var height: Int { get }
    func draw(on canvas: Canvas) throws
}

extension Figure {
    /// The figure as an image (BGR, white background).
    public func image() throws -> Image {
        let canvas = try RasterCanvas(width: width, height: height)
        try draw(on: canvas)
        return canvas.image
    }

    /// The figure as an SVG document.
    public func svg() throws -> String {
        let canvas = SVGCanvas(width: width, height: height)
        try draw(on: canvas)
        return canvas.document
    }

    /// Writes the figure in the format of the file's extension (.png, .jpg or .svg), whole or not at all.
    public func write(to url: URL) throws {
        let ext = url.pathExtension.lowercased()
        if ext == "svg" { return try DurableFile.write(try svg(), to: url) }
        try DurableFile.write(Data(try image().encoded(as: "." + ext, quality: ext == "png" ? nil : 95)), to: url)
    }
}

/// Colours the charts share, BGR as `Color` keeps them.
public enum Palette {
    /// matplotlib's text and spine colour (black) and its legend frame grey.
    public static let ink = Color(gray: 0)
    public static let frame = Color(gray: 204)
    /// The colour matplotlib gives `color="blue"` (pure blue) and `color="gray"`.
    public static let blue = Color(b: 255, g: 0, r: 0)
    public static let gray = Color(gray: 128)

    /// matplotlib's default colour cycle (tab10), the colour of the i-th line of a chart.
    public static func cycle(_ i: Int) -> Color { tab10[((i % tab10.count) + tab10.count) % tab10.count] }

    private static let tab10: [Color] = [
        0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD, 0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF,
    ].map(rgb)

    static func rgb(_ value: UInt32) -> Color {
        Color(b: UInt8(value & 0xFF), g: UInt8((value >> 8) & 0xFF), r: UInt8((value >> 16) & 0xFF))
    }
}

/// A colour map from [0, 1] to colours, linear between evenly spaced stops, as matplotlib's
/// LinearSegmentedColormap.from_list.
public struct Colormap: Sendable {
    let stops: [Color]

    public init(_ stops: [Color]) { self.stops = stops }

    public func callAsFunction(_ t: Double) -> Color {
        guard stops.count > 1 else { return stops.first ?? .white }
        let u = min(max(t.isFinite ? t : 0, 0), 1) * Double(stops.count - 1)
        let i = min(Int(u), stops.count - 2), f = u - Double(i)
        let (a, b) = (stops[i], stops[i + 1])
        func mix(_ x: UInt8, _ y: UInt8) -> UInt8 { UInt8((Double(x) + (Double(y) - Double(x)) * f).rounded()) }
        return Color(b: mix(a.b, b.b), g: mix(a.g, b.g), r: mix(a.r, b.r))
    }

    /// matplotlib's "Blues" (ColorBrewer's nine blues): the confusion matrix.
    public static let blues = Colormap([
        0xF7FBFF, 0xDEEBF7, 0xC6DBEF, 0x9ECAE1, 0x6BAED6, 0x4292C6, 0x2171B5, 0x08519C, 0x08306B,
    ].map(Palette.rgb))

    /// White to pure blue: the reference's label histograms.
    public static let whiteBlue = Colormap([.white, Palette.blue])
}
