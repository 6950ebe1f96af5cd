import Foundation
import Vision
import XCTest

final class VideoTests: XCTestCase {
    let colors: [Color] = [Color(b: 250, g: 0, r: 0), Color(b: 0, g: 250, r: 0), Color(b: 0, g: 0, r: 250),
                           Color(gray: 40), Color(gray: 200)]

    /// Writes the five colours as 64x48 frames; skips when this OpenCV build has no such codec.
    func writeFrames(to path: String, fourcc: String) throws {
        let writer: VideoWriter
        do {
            writer = try VideoWriter(path: path, fourcc: fourcc, fps: 10, width: 64, height: 48)
        } catch {
            throw XCTSkip("this OpenCV cannot write \(fourcc): \(error)")
        }
        for color in colors { try writer.write(try Image(width: 64, height: 48, fill: color)) }
        try writer.close()
    }

    func readBack(_ path: String) throws {
        let reader = try VideoReader(path: path)
        XCTAssertEqual([try reader.width, try reader.height], [64, 48])
        XCTAssertEqual(try reader.fps, 10, accuracy: 0.01)
        XCTAssertEqual(try reader.frameCount, colors.count)
        var frames: [Image] = []
        while let frame = try reader.next() { frames.append(frame) }
        XCTAssertEqual(frames.count, colors.count)
        XCTAssertNil(try reader.next())  // the end stays the end
        for (frame, color) in zip(frames, colors) {
            XCTAssertEqual([frame.width, frame.height, frame.channels], [64, 48, 3])
            let center = frame.pixel(x: 32, y: 24).map(Int.init)
            let expected = [Int(color.b), Int(color.g), Int(color.r)]
            XCTAssertLessThanOrEqual(zip(center, expected).map { abs($0 - $1) }.max()!, 12, "\(center) vs \(expected)")
        }
    }

    func testMJPGRoundTrip() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("clip.avi").path
        try writeFrames(to: path, fourcc: "MJPG")
        try readBack(path)
    }

    func testMP4VRoundTrip() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("clip.mp4").path
        try writeFrames(to: path, fourcc: "mp4v")
        try readBack(path)
    }

    func testWriterRejectsWrongFramesAndWritesAfterClose() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("clip.avi").path
        let writer = try VideoWriter(path: path, fourcc: "MJPG", fps: 5, width: 32, height: 32)
        XCTAssertThrowsError(try writer.write(try Image(width: 16, height: 32))) {
            XCTAssertTrue("\($0)".contains("32x32x3"), "\($0)")
        }
        XCTAssertThrowsError(try writer.write(try Image(width: 32, height: 32, channels: 1)))
        try writer.write(try Image(width: 32, height: 32))
        try writer.close()
        XCTAssertThrowsError(try writer.write(try Image(width: 32, height: 32)))
        XCTAssertThrowsError(try VideoWriter(path: path, fourcc: "MJPEG", fps: 5, width: 32, height: 32)) {
            XCTAssertTrue("\($0)".contains(path), "\($0)")
        }
    }

    /// A file no backend can open throws, and the capture tried with it is freed: failures do not grow the heap.
    func testFailedOpensFreeTheirCapture() throws {
        let bytesInUse = try heapBytesInUse()
        let garbage = try temporaryDirectory(self).appendingPathComponent("garbage.mp4").path
        try Data((0 ..< 2048).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: URL(fileURLWithPath: garbage))
        func failOpens(_ count: Int) {
            for _ in 0 ..< count where (try? VideoReader(path: garbage)) != nil { XCTFail("opened garbage") }
        }
        failOpens(1000)  // what the backends allocate once (FFmpeg's probing settles after some hundreds)
        let count = 1000
        let before = bytesInUse()
        failOpens(count)
        let grown = bytesInUse() - before
        // A leaked capture is 48 bytes of heap; a backend that leaks on failure (GPHOTO2, GStreamer) kilobytes.
        XCTAssertLessThan(grown, count * 16, "\(grown) more bytes in use after \(count) failed opens")
    }

    /// glibc's `mallinfo2().uordblks` (bytes allocated from the main arena, where this thread allocates). Swift does
    /// not see <malloc.h>, so it is looked up by name; its 80-byte struct comes back through memory (x86-64 and
    /// AArch64 alike return a struct over 16 bytes so), here into the larger `struct stat`.
    func heapBytesInUse() throws -> () -> Int {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallinfo2") else {
            throw XCTSkip("no mallinfo2 in this C library")
        }
        let mallinfo2 = unsafeBitCast(symbol, to: (@convention(c) () -> stat).self)
        return {
            var info = mallinfo2()
            return withUnsafeBytes(of: &info) { $0.load(fromByteOffset: 7 * 8, as: Int.self) }
        }
    }

    func testUnreadableVideosThrowNamingPath() throws {
        let dir = try temporaryDirectory(self)
        let missing = dir.appendingPathComponent("missing.mp4").path
        let garbage = dir.appendingPathComponent("garbage.mp4").path
        try Data((0 ..< 2048).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: URL(fileURLWithPath: garbage))
        for path in [missing, garbage] {
            XCTAssertThrowsError(try VideoReader(path: path)) { error in
                XCTAssertTrue(error is VisionError)
                XCTAssertTrue("\(error)".contains(path), "\(error)")
            }
        }
    }
}
