import Foundation
import Vision
import XCTest

/// Fixtures from `../shared` beside the package root (the reference's outputs and sample images).
enum SharedFixtures {
    /// The package root: up from Tests/VisionTests/SharedFixtures.swift.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let root = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    /// The path of `relative` under ../shared. When it is absent the test is skipped, except under CI (CI=true),
    /// where it fails: CI must never skip a parity test silently.
    static func path(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let url = root.appendingPathComponent(relative)
        if FileManager.default.fileExists(atPath: url.path) { return url.path }
        let message = "fixture \(relative) not found under \(root.path)"
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("\(message) (required when CI=true)", file: file, line: line)
            throw Missing(description: message)
        }
        throw XCTSkip(message)
    }
}

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("VisionTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// A deterministic test pattern: every byte differs from its neighbours.
func pattern(width: Int, height: Int, channels: Int = 3, seed: Int = 0) throws -> Image {
    let bytes = (0 ..< width * height * channels).map { UInt8(truncatingIfNeeded: ($0 &* 37 &+ seed &* 11) % 251) }
    return try Image(bytes: bytes, width: width, height: height, channels: channels)
}
