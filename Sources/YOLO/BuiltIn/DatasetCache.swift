import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The cached copy of a generated dataset. A dataset is generated into a hidden temporary folder beside its final
/// place, its completeness marker written last, and the folder renamed into place: a crash or Ctrl-C leaves only a
/// temporary folder, never a half dataset under the real name. A folder whose marker is missing or differs is
/// generated again.
enum DatasetCache {
    static let markerName = ".complete"

    /// The `data.yaml` of `spec` under `root`, generated first when needed.
    static func materialize(spec: ShapesSpec, root: URL, progress: Bool) throws -> URL {
        let fm = FileManager.default
        let final = root.appendingPathComponent(spec.folderName)
        let yaml = final.appendingPathComponent("data.yaml")
        if isComplete(final, spec: spec) { return yaml }

        do { try fm.createDirectory(at: root, withIntermediateDirectories: true) } catch {
            throw DatasetGenerationError("cannot create the dataset cache \(root.path): \(error.localizedDescription)")
        }
        removeAbandoned(in: root, name: spec.folderName)
        let temporary = root.appendingPathComponent(".\(spec.folderName).partial-\(uniqueSuffix())")
        defer { try? fm.removeItem(at: temporary) }
        try ShapesWriter.write(spec: spec, to: temporary, finalPath: final, progress: progress)
        try spec.marker.write(to: temporary.appendingPathComponent(markerName), atomically: false, encoding: .utf8)
        sync()  // every generated file on disk before the folder takes its final name (a power loss leaves none half-written)

        // An incomplete or stale folder under the real name is moved aside first (rename cannot replace a
        // non-empty folder), then removed.
        if fm.fileExists(atPath: final.path), !isComplete(final, spec: spec) {
            let stale = root.appendingPathComponent(".\(spec.folderName).stale-\(uniqueSuffix())")
            if rename(final.path, stale.path) == 0 { try? fm.removeItem(at: stale) }
        }
        if rename(temporary.path, final.path) != 0 {
            // Another process may have finished the same dataset first: theirs is as good as ours.
            let reason = String(cString: strerror(errno))
            if isComplete(final, spec: spec) { return yaml }
            throw DatasetGenerationError("cannot move the generated dataset to \(final.path): \(reason)")
        }
        return yaml
    }

    /// Whether `folder` holds a finished dataset of exactly `spec`.
    static func isComplete(_ folder: URL, spec: ShapesSpec) -> Bool {
        let marker = folder.appendingPathComponent(markerName)
        guard let text = try? String(contentsOf: marker, encoding: .utf8) else { return false }
        return text == spec.marker
            && FileManager.default.fileExists(atPath: folder.appendingPathComponent("data.yaml").path)
    }

    /// Unique to this process and call (names only: the data itself comes from the seeded generator).
    private static func uniqueSuffix() -> String { "\(getpid())-\(UInt32.random(in: 0 ... .max))" }

    /// Removes temporary folders of `name` left by runs that died: generating takes seconds to minutes, so one
    /// untouched for an hour belongs to no live run.
    private static func removeAbandoned(in root: URL, name: String) {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: root.path) else { return }
        for entry in entries where entry.hasPrefix(".\(name).partial-") || entry.hasPrefix(".\(name).stale-") {
            let url = root.appendingPathComponent(entry)
            let modified = (try? fm.attributesOfItem(atPath: url.path)[.modificationDate]) as? Date
            if let modified, Date().timeIntervalSince(modified) > 3600 { try? fm.removeItem(at: url) }
        }
    }
}
