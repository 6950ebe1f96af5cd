// yolo: the command line, `yolo [TASK] MODE key=value ...` with the reference's argument names.
// Modes so far: `info` (the default): build or load `model`, print its summary, and time a forward pass at `imgsz`
// on `source` (an image file; a built-in test pattern when none is given).
import Foundation
import Torch
import Vision
import YOLO

struct CommandLineError: Error, CustomStringConvertible {
    let description: String
}

func parseArguments(_ words: [String]) throws -> (mode: String, options: [String: String]) {
    var mode = "info", options: [String: String] = [:]
    let known = ["model", "imgsz", "source", "device", "fuse"]
    for word in words {
        if let eq = word.firstIndex(of: "=") {
            let key = String(word[..<eq]), value = String(word[word.index(after: eq)...])
            guard known.contains(key) else {
                throw CommandLineError(description: "unknown argument '\(key)' (this build knows: \(known.joined(separator: ", ")))")
            }
            options[key] = value
        } else if word == "detect" {
            continue
        } else if word == "info" {
            mode = word
        } else {
            throw CommandLineError(description: "unknown mode '\(word)' (this build knows: info)")
        }
    }
    return (mode, options)
}

/// A letterboxed RGB tensor (1, 3, size, size) in [0, 1] from an image file, or a test pattern.
func inputTensor(source: String?, size: Int) throws -> Tensor {
    guard let source else {
        let ramp = try Tensor.linspace(0, 1, steps: size).view(1, 1, 1, size)
        return try ramp.expand([1, 3, size, size]).contiguous()
    }
    let image = try Image(contentsOf: source)
    let r = min(Double(size) / Double(image.height), Double(size) / Double(image.width))
    let (w, h) = (Int((Double(image.width) * r).rounded()), Int((Double(image.height) * r).rounded()))
    let (dw, dh) = (Double(size - w) / 2, Double(size - h) / 2)
    let boxed = try image.resized(width: w, height: h).padded(
        top: Int((dh - 0.1).rounded()), bottom: Int((dh + 0.1).rounded()), left: Int((dw - 0.1).rounded()),
        right: Int((dw + 0.1).rounded()), value: 114)
    return try boxed.tensor()
}

do {
    let (_, options) = try parseArguments(Array(CommandLine.arguments.dropFirst()))
    let modelPath = options["model"] ?? "yolov8n.yaml"
    guard let size = Int(options["imgsz"] ?? "640"), size > 0, size % 32 == 0 else {
        throw CommandLineError(description: "imgsz must be a positive multiple of 32, got \(options["imgsz"] ?? "")")
    }
    print("swift-yolo on libtorch \(Runtime.torchVersion), \(Runtime.threads) threads")
    let yolo = try YOLO(modelPath)
    print(try yolo.info())
    if options["fuse"] == "True" || options["fuse"] == "true" {
        try yolo.fuse()
        print(try yolo.info())
    }
    yolo.model.eval()
    let x = try inputTensor(source: options["source"], size: size)
    _ = try yolo(x)  // warm-up
    let start = Date()
    let y = try yolo(x)
    let milliseconds = Date().timeIntervalSince(start) * 1000
    let best = try y.slice(dim: 1, start: 4).amax().item()
    print(String(format: "forward %@ -> %@ in %.1f ms (best class probability %.3f)", "\(x.shape)", "\(y.shape)", milliseconds, best))
} catch {
    FileHandle.standardError.write("yolo: \(error)\n".data(using: .utf8)!)
    exit(1)
}
