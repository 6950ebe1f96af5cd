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
                found += filesUnder(path)
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

    /// Every file with a dot in its name below `folder`, as the reference's `glob(folder/**/*.*, recursive=True)`
    /// finds them: through links to files (a dangling one too: its check reports it) and to folders, skipping hidden
    /// names, entering no folder twice along one path (a link back up is a cycle). Spelled under `folder` as the
    /// caller spelled it, so label paths follow from it.
    static func filesUnder(_ folder: String) -> [String] {
        PathGlob.matches(in: folder, ["**", "*.*"]).filter { !PathGlob.isDirectory($0) }
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
