import COpenCV
import Foundation
import Torch

/// An 8-bit image as OpenCV holds it: height x width x channels, interleaved (HWC), BGR(A) channel order.
///
/// A reference type owning its OpenCV matrix; `draw...` and `paste` change it in place, transforms return new
/// images. Moving an image between threads is safe; mutating one from two threads at once is not.
public final class Image: @unchecked Sendable {
    let handle: cv_image

    /// Takes ownership of a handle from the shim.
    init(handle: cv_image) { self.handle = handle }

    deinit { cvs_image_free(handle) }

    /// How to decode: `.color` is cv2.imread's default (3-channel BGR, EXIF orientation applied).
    public enum ReadMode: Int32, Sendable {
        case color = 0, unchanged = 1, grayscale = 2
    }

    /// Decodes an image file (jpg, png, bmp, webp, tiff...). Throws a VisionError naming the path when the file is
    /// missing, unreadable or not a decodable image.
    public convenience init(contentsOf path: String, mode: ReadMode = .color) throws {
        self.init(handle: try checked(cvs_image_read(path, mode.rawValue)))
    }

    /// Decodes encoded bytes (the contents of an image file).
    public convenience init(data: [UInt8], mode: ReadMode = .color) throws {
        let handle = data.withUnsafeBufferPointer { cvs_image_decode($0.baseAddress, $0.count, mode.rawValue) }
        self.init(handle: try checked(handle))
    }

    public convenience init(data: Data, mode: ReadMode = .color) throws {
        let handle = data.withUnsafeBytes {
            cvs_image_decode($0.bindMemory(to: UInt8.self).baseAddress, $0.count, mode.rawValue)
        }
        self.init(handle: try checked(handle))
    }

    /// A new image with every pixel `fill`.
    public convenience init(width: Int, height: Int, channels: Int = 3, fill: Color = .black) throws {
        let value: [UInt8] = [fill.b, fill.g, fill.r, 255]
        self.init(handle: try checked(cvs_image_create(Int32(width), Int32(height), Int32(channels), value)))
    }

    /// A copy of packed HWC bytes (`width * height * channels` of them).
    public convenience init(bytes: [UInt8], width: Int, height: Int, channels: Int = 3) throws {
        guard width > 0, height > 0, bytes.count == width * height * channels else {
            throw VisionError("Image(bytes:): \(bytes.count) bytes for a \(width)x\(height)x\(channels) image")
        }
        self.init(handle: try checked(cvs_image_from_bytes(bytes, Int32(width), Int32(height), Int32(channels))))
    }

    public var width: Int { Int(cvs_image_width(handle)) }
    public var height: Int { Int(cvs_image_height(handle)) }
    public var channels: Int { Int(cvs_image_channels(handle)) }

    /// The pixels as packed HWC bytes (a copy).
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// The channel values of one pixel.
    public func pixel(x: Int, y: Int) -> [UInt8] {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
        let start = (y * width + x) * channels
        return withUnsafeBytes { Array($0[start ..< start + channels]) }
    }

    /// The packed HWC pixel memory, without copying. Valid only inside `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: cvs_image_data(handle), count: height * width * channels))
    }

    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: cvs_image_data(handle), count: height * width * channels))
    }

    /// An independent copy.
    public func copy() throws -> Image {
        Image(handle: try checked(cvs_image_clone(handle)))
    }

    /// The image encoded as a file of type `ext` (".jpg", ".png", ".bmp", ".webp"); `quality` for jpg/webp.
    public func encoded(as ext: String = ".png", quality: Int? = nil) throws -> [UInt8] {
        var buffer: UnsafeMutablePointer<UInt8>?
        var length = 0
        try checked(cvs_image_encode(handle, ext, Int32(quality ?? -1), &buffer, &length))
        defer { cvs_buffer_free(buffer) }
        return Array(UnsafeBufferPointer(start: buffer, count: length))
    }

    /// Writes the image in the format of the path's extension, durably (`DurableFile`).
    public func write(to path: String, quality: Int? = nil) throws {
        let ext = URL(fileURLWithPath: path).pathExtension
        guard !ext.isEmpty else {
            throw VisionError("cannot write image '\(path)': the path has no extension to choose a format")
        }
        let bytes: [UInt8]
        do {
            bytes = try encoded(as: "." + ext, quality: quality)
        } catch {
            throw VisionError("cannot write image '\(path)': \(error)")
        }
        try DurableFile.write(bytes, to: URL(fileURLWithPath: path))
    }
}

extension Image: CustomStringConvertible {
    public var description: String { "Image(\(width)x\(height)x\(channels))" }
}
