import Foundation
import XCTest

@testable import YOLO

/// A test case with its own temporary folder and a tiny generated dataset in it (8 train, 4 val images at 96 px),
/// for tests that train end to end.
class TinyDatasetTestCase: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(type(of: self))-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// The dataset's YAML path (generated on first use in this test's folder).
    func tinyDataset() throws -> String {
        try BuiltInDataset.shapes(
            seed: 7, trainImages: 8, valImages: 4, imageSize: 96, root: directory.appendingPathComponent("shapes"),
            progress: false
        ).path
    }

    /// Fails for every tensor that differs between the `last.pt` of two runs (an uninterrupted and a resumed one).
    func assertSameLastWeights(_ a: TrainResult, _ b: TrainResult, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try DetectionModel.load(contentsOf: a.run.lastWeights.path).stateDict()
        let y = try DetectionModel.load(contentsOf: b.run.lastWeights.path).stateDict()
        for ((name, p), (_, q)) in zip(x, y) { XCTAssertTrue(try p.equal(q), "\(name) differs after resume", file: file, line: line) }
    }
}
