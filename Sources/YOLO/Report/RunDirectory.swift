import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The folder of one run and the files the reference puts in it:
///
///     runs/detect/train/            (then train2, train3, ... when it exists, unless exist_ok)
///         args.yaml  results.csv  results.png  weights/last.pt  weights/best.pt
///
///     let run = try RunDirectory.create(task: "detect", mode: "train", project: cfg.project, name: cfg.name,
///                                       existOK: cfg.existOK)
///     try ArgsYAML.write(args, to: run.argsYAML)
public struct RunDirectory: Sendable {
    public let url: URL

    public init(url: URL) { self.url = url }

    public var weights: URL { url.appendingPathComponent("weights") }
    public var lastWeights: URL { weights.appendingPathComponent("last.pt") }
    public var bestWeights: URL { weights.appendingPathComponent("best.pt") }
    public var argsYAML: URL { url.appendingPathComponent("args.yaml") }
    public var resultsCSV: URL { url.appendingPathComponent("results.csv") }
    public var resultsPlot: URL { url.appendingPathComponent("results.png") }

    /// Where a run goes, as the reference's `get_save_dir`: `<runs>/<task>/<project>/<name>` for a relative (or
    /// no) project, `<project>/<name>` for an absolute one; `name` defaults to the mode (`train`, `val`,
    /// `predict`). An existing folder is incremented (`train2`, `train3`, ...) unless `existOK`.
    public static func path(
        task: String = "detect", mode: String = "train", project: String? = nil, name: String? = nil,
        existOK: Bool = false, runs: URL = URL(fileURLWithPath: "runs"), separator: String = ""
    ) -> URL {
        let project = project ?? ""
        let parent = project.hasPrefix("/")
            ? URL(fileURLWithPath: project)
            : runs.appendingPathComponent(task).appendingPathComponent(project)
        let leaf = (name?.isEmpty ?? true) ? mode : name!
        return incremented(parent.appendingPathComponent(leaf).standardizedFileURL, existOK: existOK,
                           separator: separator)
    }

    /// The run folder, created with its `weights/` folder. Claiming the folder is one mkdir(2), so two runs
    /// started at once get two folders.
    public static func create(
        task: String = "detect", mode: String = "train", project: String? = nil, name: String? = nil,
        existOK: Bool = false, runs: URL = URL(fileURLWithPath: "runs"), separator: String = ""
    ) throws -> RunDirectory {
        let fm = FileManager.default
        for _ in 0 ..< 100 {
            let run = RunDirectory(url: path(
                task: task, mode: mode, project: project, name: name, existOK: existOK, runs: runs,
                separator: separator))
            do {
                try fm.createDirectory(at: run.url.deletingLastPathComponent(), withIntermediateDirectories: true)
                if mkdir(run.url.path, 0o755) != 0 {
                    guard errno == EEXIST else { throw ReportError(String(cString: strerror(errno))) }
                    if !existOK { continue }  // another run took it in between: take the next number
                }
                try fm.createDirectory(at: run.weights, withIntermediateDirectories: true)
            } catch {
                throw ReportError("cannot create run folder \(run.url.path): \(error)")
            }
            return run
        }
        throw ReportError("cannot claim a run folder for \(name ?? mode): every candidate was taken")
    }

    /// The reference's `increment_path`: `path` itself when it does not exist or `existOK`; otherwise the first of
    /// `path2`, `path3`, ... (a file keeps its extension last: `results2.txt`) that does not exist.
    public static func incremented(_ path: URL, existOK: Bool, separator: String = "") -> URL {
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        guard fm.fileExists(atPath: path.path, isDirectory: &isFolder), !existOK else { return path }
        let ext = isFolder.boolValue ? "" : path.pathExtension
        let stem = ext.isEmpty ? path.path : path.deletingPathExtension().path
        let suffix = ext.isEmpty ? "" : "." + ext
        for n in 2 ..< 9999 {
            let candidate = "\(stem)\(separator)\(n)\(suffix)"
            if !fm.fileExists(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        return URL(fileURLWithPath: "\(stem)\(separator)9999\(suffix)")
    }
}
