import Foundation
import Torch
import Vision
import YOLO

/// Parses `[TASK] MODE key=value ...` and runs the mode; returns the exit status.
enum CommandLineTool {
    static let tasks: Set<String> = ["detect", "segment", "pose", "classify", "obb"]
    static let modes = ["train", "val", "predict", "export", "benchmark", "info", "checks", "version", "cfg", "help"]
    static let version = "0.1.0"

    static func run(_ words: [String]) -> Int32 {
        var rest = words
        if let first = rest.first, tasks.contains(first) {  // the TASK word, as task=...; the model's head decides
            rest.removeFirst()
            if !rest.contains(where: { $0.hasPrefix("task=") }) { rest.append("task=\(first)") }
        }
        let mode = rest.first.flatMap { $0.contains("=") ? nil : $0 } ?? "help"
        if !rest.isEmpty, !rest[0].contains("=") { rest.removeFirst() }
        if rest.contains("--help") || rest.contains("-h") { print(Help.text(for: mode)); return 0 }
        do {
            switch mode {
            case "help", "--help", "-h": print(Help.text(for: "help"))
            case "version", "--version": print("swift-yolo \(version) (libtorch \(Runtime.torchVersion))")
            case "checks": print(Checks.report())
            case "cfg": print(Config().entries.map { "\($0.0): \($0.1 == .null ? "null" : $0.1.description)" }.joined(separator: "\n"))
            case "train": try Modes.train(try config(rest, mode: mode), words: words)
            case "val": try Modes.val(try config(rest, mode: mode))
            case "predict": try Modes.predict(try config(rest, mode: mode))
            case "export": try Modes.export(try config(rest, mode: mode))
            case "benchmark": try Modes.benchmark(try config(rest, mode: mode))
            case "info": try Modes.info(try config(rest, mode: mode))
            default:
                let close = modes.filter { $0.hasPrefix(String(mode.prefix(2))) }
                return fail("'\(mode)' is not a valid mode (\(modes.joined(separator: ", ")))"
                    + (close.isEmpty ? "" : "; did you mean \(close.joined(separator: " or "))?"), usage: true)
            }
            return 0
        } catch let error as ConfigError {
            return fail(error.message, usage: true)
        } catch {
            return fail("\(error)")
        }
    }

    /// Defaults, then `cfg=file.yaml`, then the words.
    static func config(_ words: [String], mode: String) throws -> Config {
        try Config.resolved(try Config.parse(words: words), mode: mode)
    }

    static func fail(_ message: String, usage: Bool = false) -> Int32 {
        FileHandle.standardError.write(Data("yolo: error: \(message)\n".utf8))
        if usage { FileHandle.standardError.write(Data("Run 'yolo help' for usage.\n".utf8)) }
        return usage ? 2 : 1
    }
}
