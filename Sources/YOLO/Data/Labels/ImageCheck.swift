import Foundation
import Vision

/// Checks that an image file is one training can use, the way the reference's `check_image` does, and reads its size.
///
/// The image is decoded with OpenCV, as training decodes it, so a file that passes here loads later. Two JPEG cases
/// need more than a decode, because libjpeg fills a cut-off file with grey and reports success: a JPEG without its
/// end marker after the image data is truncated (corrupt); a JPEG with bytes after its end marker decodes fully and
/// is used with a warning. The reference rewrites such a file in place; we never change a user's images.
enum ImageCheck {
    /// The decoded size, and a warning when the image is usable but not clean.
    static func verify(_ path: String) throws -> (shape: ImageShape, warning: String?) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError("cannot read the file")
        }
        var warning: String?
        let bytes = [UInt8](data)
        if bytes.starts(with: [0x47, 0x49, 0x46, 0x38]) {
            throw DataError(
                "invalid image format GIF; supported formats are " + ImageFiles.formats.sorted().joined(separator: ", ")
            )
        }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]), !bytes.ends(with: [0xFF, 0xD9]) {
            guard let end = jpegEndMarker(bytes) else {
                throw DataError("image file is truncated (no JPEG end marker after the image data)")
            }
            warning = "\(path): JPEG has \(bytes.count - end - 2) bytes after its end marker; used as it is"
        }
        let image: Image
        do { image = try Image(data: bytes) } catch {
            throw DataError("not a decodable image (\(error))")
        }
        let shape = ImageShape(height: image.height, width: image.width)
        guard shape.height > 9, shape.width > 9 else { throw DataError("image size \(shape) <10 pixels") }
        return (shape, warning)
    }

    /// The offset of the end-of-image marker that follows the first start-of-scan, or nil when there is none.
    /// Segments before the scan are skipped by their lengths, so an EXIF thumbnail's own markers do not count.
    static func jpegEndMarker(_ bytes: [UInt8]) -> Int? {
        var i = 2
        var scanStart: Int?
        while i + 3 < bytes.count {
            guard bytes[i] == 0xFF else { return nil }
            let marker = bytes[i + 1]
            if marker == 0xFF {
                i += 1
                continue
            }  // fill byte
            if marker == 0xD9 { return nil }  // end before any image data
            if (0xD0...0xD7).contains(marker) || marker == 0x01 {
                i += 2
                continue
            }  // no length
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            if marker == 0xDA {
                scanStart = i + 2 + length
                break
            }
            i += 2 + length
        }
        guard let start = scanStart, start < bytes.count - 1 else { return nil }
        // In entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so FFD9 is the real end.
        var j = start
        while j < bytes.count - 1 {
            if bytes[j] == 0xFF, bytes[j + 1] == 0xD9 { return j }
            j += 1
        }
        return nil
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
