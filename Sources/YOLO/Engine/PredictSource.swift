import Foundation
import Vision

/// What `source=` names: images (a file, a folder, a glob, a `.txt` list) and videos, in order.
public enum PredictItem: Equatable, Sendable {
    case image(String)
    case video(String)
}

public enum PredictSource {
    public static let videoFormats: Set<String> = ["asf", "avi", "gif", "m4v", "mkv", "mov", "mp4", "mpeg", "mpg", "ts", "wmv", "webm"]

    /// The items of `source` as the reference's `LoadImagesAndVideos` lists them: a glob (`**` for any folders
    /// below) or a folder's `*.*` (not its sub-folders), sorted, links to files and folders followed; the images
    /// first, then the videos.
    public static func items(_ source: String) throws -> [PredictItem] {
        let files: [String]
        if source.contains("*") || source.contains("?") {
            files = PathGlob.matches(source).filter { isMedia($0) && !PathGlob.isDirectory($0) }
            guard !files.isEmpty else { throw ConfigError("source '\(source)' matches no image or video files") }
        } else if PathGlob.isDirectory(source) {
            files = PathGlob.matches(in: source, ["*.*"]).filter { isMedia($0) && !PathGlob.isDirectory($0) }
            guard !files.isEmpty else { throw ConfigError("source folder '\(source)' has no image or video files") }
        } else {
            guard FileManager.default.fileExists(atPath: source) else {
                throw ConfigError("source '\(source)' does not exist")
            }
            let ext = (source as NSString).pathExtension.lowercased()
            if ext == "txt" { return try ImageFiles.list([source]).map { .image($0) } }
            guard isMedia(source) else {
                throw ConfigError("source '\(source)' is not an image or video (images: \(ImageFiles.formats.sorted().joined(separator: ", ")); "
                    + "videos: \(videoFormats.sorted().joined(separator: ", ")))")
            }
            return [item(source)]
        }
        let items = files.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map(item)
        return items.filter { if case .image = $0 { true } else { false } }
            + items.filter { if case .video = $0 { true } else { false } }
    }

    static func isMedia(_ path: String) -> Bool {
        let ext = (path as NSString).pathExtension.lowercased()
        return ImageFiles.formats.contains(ext) || videoFormats.contains(ext)
    }

    static func item(_ path: String) -> PredictItem {
        videoFormats.contains((path as NSString).pathExtension.lowercased()) ? .video(path) : .image(path)
    }
}

extension Predictor {
    /// Predicts every item of `source`, printing one line per image or frame and writing what `writer` asks for.
    /// An image that cannot be read is skipped with a warning; the rest goes on. Video frames stream through (one
    /// frame in memory at a time). Returns the results of the images (not of video frames).
    @discardableResult
    public func run(source: String, writer: PredictionWriter?) throws -> [Results] {
        let items = try PredictSource.items(source)
        var all: [Results] = []
        for (n, item) in items.enumerated() {
            switch item {
            case .image(let path):
                let image: Image
                do { image = try Image(contentsOf: path) } catch {
                    log("WARNING: skipping \(path): \(error)")
                    continue
                }
                let results = try predict(image, path: path)
                log("image \(n + 1)/\(items.count) \(path): \(lastInputShape.0)x\(lastInputShape.1) \(results.verbose)"
                    + String(format: "%.1fms", results.speed["inference"] ?? 0))
                let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
                try writer?.write(image, results, name: name)
                all.append(results)
            case .video(let path):
                try runVideo(path, index: n + 1, of: items.count, writer: writer)
            }
        }
        if let writer { log("Results saved to \(writer.folder.path)") }
        return all
    }

    func runVideo(_ path: String, index: Int, of count: Int, writer: PredictionWriter?) throws {
        let reader: VideoReader
        do { reader = try VideoReader(path: path) } catch {
            log("WARNING: skipping video \(path): \(error)")
            return
        }
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        var output: VideoWriter?  // opened at the first decoded frame, with its size: no empty file for a bad video
        var frame = 0
        // A frame that fails to decode ends this video with a warning; the other sources still run.
        while true {
            let decoded: Image?
            do { decoded = try reader.next() } catch {
                log("WARNING: video \(path) stopped after \(frame) frames: \(error)")
                break
            }
            guard let image = decoded else { break }
            frame += 1
            let results = try predict(image, path: path)
            log("video \(index)/\(count) (frame \(frame)/\(try reader.frameCount)) \(path): \(lastInputShape.0)x\(lastInputShape.1) \(results.verbose)"
                + String(format: "%.1fms", results.speed["inference"] ?? 0))
            if let writer, writer.saveImages {
                if output == nil {
                    output = try VideoWriter(
                        path: writer.folder.appendingPathComponent("\(name).mp4").path, fourcc: "mp4v",
                        fps: try reader.fps > 0 ? reader.fps : 30, width: image.width, height: image.height)
                }
                try output?.write(writer.annotate(image, results))
            }
            if let writer, writer.saveText || writer.saveCrops {
                var textOnly = writer
                textOnly.saveImages = false
                try textOnly.write(image, results, name: "\(name)_\(frame)")
            }
        }
        try output?.close()
        if frame == 0 { log("WARNING: video \(path) has no frame this build can decode (unknown codec or corrupt file)") }
    }
}
