import Foundation

/// Finding a dataset's image files and the label file of each, by the reference's rules.
public enum ImageFiles {
    /// Image extensions the reference accepts (`IMG_FORMATS`), lower case.
    public static let formats: Set<String> = [
        "avif", "bmp", "dng", "heic", "heif", "jp2", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp",
    ]

    /// The image files under `paths`: each a folder (searched recursively), a `.txt` list of image paths (UTF-8,
    /// a byte-order mark allowed; lines starting with `./` are relative to the list's folder), or an image. Sorted
    /// by path, as the reference sorts them.
    public static func list(_ paths: [String]) throws -> [String] {
        var found: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw DataError("\(path) does not exist")
            }
            if isDirectory.boolValue {
                found += try filesUnder(path)
            } else if isImage(path) {
                found.append(path)
            } else {
                found += try entries(ofList: path)
            }
        }
        let images = found.filter(isImage).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        guard !images.isEmpty else {
            throw DataError(
                "no images found in \(paths.joined(separator: ", ")); supported formats are "
                    + formats.sorted().joined(separator: ", "))
        }
        return images
    }

    /// The label file of an image: the last `/images/` becomes `/labels/` and the extension `.txt`.
    public static func labelPath(forImage path: String) -> String {
        var result = path
        if let range = path.range(of: "/images/", options: .backwards) {
            result.replaceSubrange(range, with: "/labels/")
        }
        if let dot = result.lastIndex(of: ".") { result = String(result[..<dot]) }
        return result + ".txt"
    }

    static func isImage(_ path: String) -> Bool {
        guard let dot = path.lastIndex(of: ".") else { return false }
        return formats.contains(path[path.index(after: dot)...].lowercased())
    }

    /// Every file with an extension below `folder`, skipping hidden files (as glob's `**/*.*` does).
    static func filesUnder(_ folder: String) throws -> [String] {
        let base = URL(fileURLWithPath: folder)
        guard
            let walker = FileManager.default.enumerator(
                at: base, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        else { throw DataError("\(folder) cannot be listed") }
        var files: [String] = []
        let prefix = base.standardizedFileURL.path
        for case let url as URL in walker where url.lastPathComponent.contains(".") {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                // Keep the folder as the caller spelled it, so label paths follow from it.
                let path = url.standardizedFileURL.path
                files.append(path.hasPrefix(prefix) ? folder + path.dropFirst(prefix.count) : path)
            }
        }
        return files
    }

    /// The paths listed in a text file, one a line.
    static func entries(ofList path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError("\(path) cannot be read") }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path + "/"
        return text.trimmingCharacters(in: .whitespacesAndNewlines).split(whereSeparator: \.isNewline).map { line in
            let entry = String(line)
            return entry.hasPrefix("./") ? parent + entry.dropFirst(2) : entry
        }
    }
}
