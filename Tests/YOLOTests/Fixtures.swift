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

    /// `reference/yolov8n-coco8/manifest.json`.
    static func manifest() throws -> [String: Any] {
        let path = try shared("reference/yolov8n-coco8/manifest.json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    /// `expected[key]` of the manifest as a `T`. It unwraps itself: the skip it throws when ../shared is absent must
    /// reach XCTest as a skip, and XCTUnwrap around it would turn that into a failure.
    static func expected<T>(_ key: String, as type: T.Type = T.self, file: StaticString = #filePath, line: UInt = #line)
        throws -> T
    {
        let value = (try manifest()["expected"] as? [String: Any])?[key]
        guard let typed = value as? T else {
            XCTFail("manifest expected.\(key) is not a \(T.self)", file: file, line: line)
            throw XCTSkip("manifest expected.\(key) is not a \(T.self)")
        }
        return typed
    }

    /// A raw little-endian float32 array of the reference fixtures, with its shape from the manifest.
    static func floats(_ name: String) throws -> (values: [Float], shape: [Int]) {
        let path = try shared("reference/yolov8n-coco8/\(name).f32")
        let arrays = try manifest()["arrays"] as? [String: Any]
        let entry = arrays?[name] as? [String: Any] ?? arrays?["\(name).f32"] as? [String: Any]
        let shape = (entry?["shape"] as? [Int]) ?? []
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let values = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (values, shape)
    }
}
