import COpenCV

/// Frames of a video file, decoded in order as BGR images.
public final class VideoReader {
    let handle: cv_capture

    public init(path: String) throws {
        handle = try checked(cvs_capture_open(path))
    }

    deinit { cvs_capture_free(handle) }

    /// Frames per second; 0 when the container does not say.
    public var fps: Double { get throws { try property(cvs_capture_fps(handle)) } }
    /// The container's frame count: exact for most files, an estimate for some; 0 when unknown.
    public var frameCount: Int { get throws { Int(try property(Double(cvs_capture_frame_count(handle)))) } }
    public var width: Int { get throws { Int(try property(Double(cvs_capture_width(handle)))) } }
    public var height: Int { get throws { Int(try property(Double(cvs_capture_height(handle)))) } }

    private func property(_ value: Double) throws -> Double {
        if value < 0 { throw VisionError.last() }
        return value
    }

    /// The next frame, or nil at the end of the stream.
    public func next() throws -> Image? {
        var frame: cv_image?
        switch cvs_capture_read(handle, &frame) {
        case 1: return Image(handle: try checked(frame))
        case 0: return nil
        default: throw VisionError.last()
        }
    }
}

/// Writes BGR frames of one size to a video file.
public final class VideoWriter {
    let handle: cv_writer
    public let width: Int
    public let height: Int

    /// `fourcc`: the codec's four characters ("mp4v" for .mp4, "MJPG" for .avi, ...).
    public init(path: String, fourcc: String = "mp4v", fps: Double, width: Int, height: Int) throws {
        handle = try checked(cvs_writer_open(path, fourcc, fps, Int32(width), Int32(height)))
        self.width = width
        self.height = height
    }

    deinit { cvs_writer_free(handle) }

    /// Appends a frame of exactly width x height, 3 channels.
    public func write(_ frame: Image) throws {
        try checked(cvs_writer_write(handle, frame.handle))
    }

    /// Finishes the file. Later writes throw; deinit closes a writer that is still open.
    public func close() throws {
        try checked(cvs_writer_release(handle))
    }
}
