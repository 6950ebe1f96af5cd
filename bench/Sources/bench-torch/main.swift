// bench-torch: conv2d forward+backward at YOLOv8n's shapes (batch 8, imgsz 640) and a loop of small-tensor adds,
// measured here and in Python PyTorch on the same machine and thread count, printed side by side as ratios.
//
//   swift run -c release bench-torch [--threads N] [--rounds 2] [--quick] [--python /usr/bin/python3]
import Foundation
import Torch

struct Spec: Decodable {
    let batch: Int
    let convs: [[Int]]
}

/// Seconds per call: the best of `rounds` timings of `repeats` calls, after one warm-up call.
func bestOf(_ repeats: Int, rounds: Int = 3, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<repeats { try body() }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(repeats))
    }
    return best
}

func measureSwift(_ spec: Spec, threads: Int, convRepeats: Int, addRepeats: Int) throws -> [(String, Double)] {
    Runtime.threads = threads
    Runtime.seed(0)
    var results: [(String, Double)] = []
    for (i, c) in spec.convs.enumerated() {
        let (cin, cout, k, s, size) = (c[0], c[1], c[2], c[3], c[4])
        let x = try Tensor.randn([spec.batch, cin, size, size]).requiresGrad(i > 0)
        let w = try Tensor.randn([cout, cin, k, k]).requiresGrad(true)
        let b = try Tensor.randn([cout]).requiresGrad(true)
        let out = (size + 2 * (k / 2) - k) / s + 1
        let g = try Tensor.ones([spec.batch, cout, out, out])
        let seconds = try bestOf(convRepeats) {
            let y = try x.conv2d(w, bias: b, stride: (s, s), padding: (k / 2, k / 2))
            try y.backward(g)
        }
        results.append(("conv \(cin)->\(cout) k\(k) s\(s) @\(size)", seconds))
    }
    let a = try Tensor.ones([4]), c = try Tensor.ones([4])
    let perLoop = try bestOf(1) { for _ in 0..<addRepeats { _ = try a + c } }
    results.append(("small add", perLoop / Double(addRepeats)))
    return results
}

func measurePython(_ python: String, script: String, shapes: String, threads: Int, convRepeats: Int, addRepeats: Int)
    throws -> [String: Double]
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script, shapes, "\(threads)", "\(convRepeats)", "\(addRepeats)"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
        let results = json["results"] as? [String: Double]
    else { throw TorchError("the PyTorch side failed (\(python) \(script)); is python3-torch installed?") }
    return results
}

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
let threads = Int(option("--threads") ?? "") ?? ProcessInfo.processInfo.activeProcessorCount
let quick = arguments.contains("--quick")
let python = option("--python") ?? "/usr/bin/python3"
let benchDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let shapes = benchDirectory.appendingPathComponent("shapes.json").path
let script = benchDirectory.appendingPathComponent("python/torch_bench.py").path
let (convRepeats, addRepeats) = quick ? (1, 20_000) : (3, 200_000)
let rounds = Int(option("--rounds") ?? "") ?? 2

do {
    let spec = try JSONDecoder().decode(Spec.self, from: Data(contentsOf: URL(fileURLWithPath: shapes)))
    print("bench-torch: libtorch \(Runtime.torchVersion), \(threads) threads, batch \(spec.batch)")
    // Alternate the two sides and keep each case's best, so that a burst of other load on the machine does not
    // land on one side only.
    var ours: [(String, Double)] = []
    var theirs: [String: Double] = [:]
    for _ in 0..<rounds {
        let swift = try measureSwift(spec, threads: threads, convRepeats: convRepeats, addRepeats: addRepeats)
        ours = ours.isEmpty ? swift : zip(ours, swift).map { ($0.0, min($0.1, $1.1)) }
        let python = try measurePython(
            python, script: script, shapes: shapes, threads: threads, convRepeats: convRepeats, addRepeats: addRepeats)
        theirs.merge(python) { min($0, $1) }
    }
    func row(_ name: String, _ a: Double, _ b: Double, unit: Double, _ suffix: String) {
        let cells = [
            name.padding(toLength: 30, withPad: " ", startingAt: 0), String(format: "%10.3f", a * unit),
            String(format: "%10.3f", b * unit), String(format: "%7.3f", a / b), suffix,
        ]
        print(cells.joined(separator: " "))
    }
    print(["case".padding(toLength: 30, withPad: " ", startingAt: 0), "swift", "  pytorch", "  ratio"].joined(separator: "     "))
    var convSwift = 0.0, convPython = 0.0
    for (name, seconds) in ours {
        guard let reference = theirs[name] else { continue }
        if name == "small add" {
            row(name, seconds, reference, unit: 1e6, "µs/op")
        } else {
            row(name, seconds, reference, unit: 1e3, "ms")
            convSwift += seconds
            convPython += reference
        }
    }
    row("conv2d fwd+bwd, all shapes", convSwift, convPython, unit: 1e3, "ms")
    let addRatio = ours.last!.1 / theirs["small add"]!
    print(String(format: "RATIO conv2d forward+backward (swift/pytorch): %.3f (target <= 1.05)", convSwift / convPython))
    print(String(format: "RATIO small-tensor add loop (swift/pytorch): %.3f (target <= 0.8)", addRatio))
} catch {
    print("bench-torch failed: \(error)")
    exit(1)
}
