// swift-tools-version:6.0
// swift-yolo: YOLOv8 in Swift over libtorch and OpenCV.
//
// libtorch is found at the system location (Debian's libtorch-dev, 1.13) by default, or at $LIBTORCH when it is set:
// a libtorch folder or a pip-installed torch's package folder (.../site-packages/torch), 1.13 to the newest 2.x. A
// CUDA libtorch is linked with its CUDA library so that `Device.cuda(n)` works. Set LIBTORCH_CXX11_ABI=0 for a
// libtorch built with the pre-C++11 ABI (older pip wheels).
import Foundation
import PackageDescription

let env = ProcessInfo.processInfo.environment
let fm = FileManager.default

/// The value of `#define NAME value` in the header at `path`, if it is there.
func defined(_ name: String, in path: String) -> Int? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        if words.count >= 3, words[0] == "#define", words[1] == name { return Int(words[2]) }
    }
    return nil
}

func torchSettings() -> (cxx: [CXXSetting], link: [LinkerSetting]) {
    let root = env["LIBTORCH"].flatMap { $0.isEmpty ? nil : $0 }
    let include = root.map { "\($0)/include" } ?? "/usr/include"
    // torch 2.x headers require C++20 ("C++20 or later compatible compiler is required to use ATen"); 1.13's
    // are written for C++17.
    let major = ["torch/headeronly/version.h", "torch/csrc/api/include/torch/version.h"]
        .lazy.compactMap { defined("TORCH_VERSION_MAJOR", in: "\(include)/\($0)") }.first ?? 1
    var cflags = [major >= 2 ? "-std=c++20" : "-std=c++17", "-Wno-unused-parameter", "-Wno-deprecated-declarations"]
    var lflags: [String] = []
    var libs: [String] = []
    if let abi = env["LIBTORCH_CXX11_ABI"] { cflags.append("-D_GLIBCXX_USE_CXX11_ABI=\(abi)") }
    if let root {
        cflags += ["-I\(root)/include", "-I\(root)/include/torch/csrc/api/include"]
        // By full path: `-ltorch` would find the system's libtorch first whenever libtorch-dev is installed too.
        // CUDA's libraries register themselves from static initialisers only: kept though no symbol is used.
        let ext = fm.fileExists(atPath: "\(root)/lib/libtorch.dylib") ? "dylib" : "so"
        let names = ["torch", "torch_cpu", "c10", "torch_cuda", "c10_cuda"]
            .map { "\(root)/lib/lib\($0).\(ext)" }.filter { fm.fileExists(atPath: $0) }
        lflags += ["-Xlinker", "-rpath", "-Xlinker", "\(root)/lib"]
        if ext == "so" { lflags += ["-Xlinker", "--no-as-needed"] }
        lflags += names.flatMap { ["-Xlinker", $0] }
        if ext == "so" { lflags += ["-Xlinker", "--as-needed"] }
    } else {
        libs = ["torch", "torch_cpu", "c10"]
        cflags += ["-I/usr/include/torch/csrc/api/include"]
        // The system libtorch runs on the system oneDNN: with its headers (libdnnl-dev) the training Conv block
        // calls it directly (Sources/CTorch/conv_block.cpp), written for oneDNN 2.x's API (3.0 removed ::desc).
        if defined("DNNL_VERSION_MAJOR", in: "/usr/include/oneapi/dnnl/dnnl_version.h") == 2 {
            cflags.append("-DCT_ONEDNN")
            libs += ["dnnl", "gomp"]
        }
    }
    libs.append("stdc++")
    return ([.unsafeFlags(cflags)], libs.map { .linkedLibrary($0) } + [.unsafeFlags(lflags)])
}

let torch = torchSettings()
let opencvLibs = ["opencv_core", "opencv_imgproc", "opencv_imgcodecs", "opencv_videoio"]

let package = Package(
    name: "swift-yolo",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Torch", targets: ["Torch"]),
        .library(name: "Vision", targets: ["Vision"]),
        .library(name: "YOLO", targets: ["YOLO"]),
        .executable(name: "yolo", targets: ["yolo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .target(name: "CTorch", cxxSettings: torch.cxx, linkerSettings: torch.link),
        .target(
            name: "COpenCV",
            cxxSettings: [.unsafeFlags(["-std=c++17", "-I/usr/include/opencv4", "-I/opt/homebrew/include/opencv4"])],
            linkerSettings: opencvLibs.map { .linkedLibrary($0) } + [.linkedLibrary("stdc++")]),
        .target(name: "Torch", dependencies: ["CTorch"]),
        .target(name: "Vision", dependencies: ["COpenCV", "Torch"]),
        .target(
            name: "YOLO",
            dependencies: ["Torch", "Vision", "Yams", "ZIPFoundation", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            resources: [.copy("Resources/models")]),
        .executableTarget(name: "yolo", dependencies: ["YOLO", "Torch", "Vision"]),
        .executableTarget(name: "bench-torch", dependencies: ["Torch"], path: "bench/Sources/bench-torch"),
        .executableTarget(name: "bench-loader", dependencies: ["YOLO", "Torch", "Vision"], path: "bench/Sources/bench-loader"),
        .executableTarget(name: "bench-predict", dependencies: ["YOLO", "Torch", "Vision"], path: "bench/Sources/bench-predict"),
        .executableTarget(name: "bench-train", dependencies: ["YOLO", "Torch"], path: "bench/Sources/bench-train"),
        .executableTarget(name: "bench-step", dependencies: ["YOLO", "Torch"], path: "bench/Sources/bench-step"),
        .testTarget(name: "TorchTests", dependencies: ["Torch"]),
        .testTarget(name: "VisionTests", dependencies: ["Vision", "Torch"]),
        .testTarget(name: "YOLOTests", dependencies: ["YOLO", "Torch", "Vision"]),
    ]
)
