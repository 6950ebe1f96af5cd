import Foundation
import XCTest

/// Fixtures written by the reference implementation, in `../shared` beside the package. Absent in a user's clone
/// (tests skip), required under CI (tests fail).
enum Fixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let sharedRoot = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")

    /// The path of `relative` under ../shared; skips the test when it is absent, fails under CI.
    static func shared(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        SharedDatasetsGuard.install()
        let path = sharedRoot.appendingPathComponent(relative).path
        if FileManager.default.fileExists(atPath: path) { return path }
        let message = "fixture \(path) is absent"
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail(message + " (required under CI)", file: file, line: line)
            throw XCTSkip(message)
        }
        throw XCTSkip(message)
    }

    /// `reference/<folder>/manifest.json` (the detection fixtures by default; `yolov8n-seg-coco8`, ...).
    static func manifest(_ folder: String = "yolov8n-coco8") throws -> [String: Any] {
        let path = try shared("reference/\(folder)/manifest.json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    /// `expected[key]` of the manifest as a `T`. It unwraps itself: the skip it throws when ../shared is absent must
    /// reach XCTest as a skip, and XCTUnwrap around it would turn that into a failure.
    static func expected<T>(
        _ key: String, as type: T.Type = T.self, in folder: String = "yolov8n-coco8", file: StaticString = #filePath,
        line: UInt = #line
    ) throws -> T {
        let value = (try manifest(folder)["expected"] as? [String: Any])?[key]
        guard let typed = value as? T else {
            XCTFail("manifest expected.\(key) is not a \(T.self)", file: file, line: line)
            throw XCTSkip("manifest expected.\(key) is not a \(T.self)")
        }
        return typed
    }

    /// A raw little-endian float32 array of the reference fixtures, with its shape from the manifest.
    static func floats(_ name: String, in folder: String = "yolov8n-coco8") throws -> (values: [Float], shape: [Int]) {
        let (data, shape) = try raw(name, extension: "f32", in: folder)
        return (data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, shape)
    }

    /// A raw uint8 array of the reference fixtures (masks, file names), with its shape from the manifest.
    static func bytes(_ name: String, in folder: String) throws -> (values: [UInt8], shape: [Int]) {
        let (data, shape) = try raw(name, extension: "u8", in: folder)
        return ([UInt8](data), shape)
    }

    private static func raw(_ name: String, extension ext: String, in folder: String) throws -> (Data, [Int]) {
        let path = try shared("reference/\(folder)/\(name).\(ext)")
        let arrays = try manifest(folder)["arrays"] as? [String: Any]
        let entry = arrays?[name] as? [String: Any] ?? arrays?["\(name).\(ext)"] as? [String: Any]
        return (try Data(contentsOf: URL(fileURLWithPath: path)), (entry?["shape"] as? [Int]) ?? [])
    }
}
