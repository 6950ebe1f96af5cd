// swift-tools-version:6.0
// swift-yolo: YOLOv8 in Swift over libtorch and OpenCV.
//
// libtorch is found at the system location (Debian's libtorch-dev) by default, or at $LIBTORCH when it is set:
// a libtorch folder or a pip-installed torch's package folder (.../site-packages/torch). A CUDA libtorch is
// linked with its CUDA library so that `Device.cuda(n)` works. Set LIBTORCH_CXX11_ABI=0 for a libtorch built
// with the pre-C++11 ABI (older pip wheels).
import Foundation
import PackageDescription

let env = ProcessInfo.processInfo.environment
let fm = FileManager.default

func torchSettings() -> (cxx: [CXXSetting], link: [LinkerSetting]) {
    var cflags = ["-std=c++17", "-Wno-unused-parameter", "-Wno-deprecated-declarations"]
    var lflags: [String] = []
    var libs = ["torch", "torch_cpu", "c10"]
    if let abi = env["LIBTORCH_CXX11_ABI"] { cflags.append("-D_GLIBCXX_USE_CXX11_ABI=\(abi)") }
    if let root = env["LIBTORCH"], !root.isEmpty {
        cflags += ["-I\(root)/include", "-I\(root)/include/torch/csrc/api/include"]
        lflags += ["-L\(root)/lib", "-Xlinker", "-rpath", "-Xlinker", "\(root)/lib"]
        if fm.fileExists(atPath: "\(root)/lib/libtorch_cuda.so") {
            // Registered by static initialisers only: keep it even though no symbol is referenced.
            lflags += ["-Xlinker", "--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Xlinker", "--as-needed"]
        }
    } else {
        cflags += ["-I/usr/include/torch/csrc/api/include"]
        // The system libtorch runs on the system oneDNN: with its headers (libdnnl-dev) the training Conv block
        // calls it directly (Sources/CTorch/conv_block.cpp).
        if fm.fileExists(atPath: "/usr/include/dnnl.hpp") {
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
    ],
    cxxLanguageStandard: .cxx17
)
