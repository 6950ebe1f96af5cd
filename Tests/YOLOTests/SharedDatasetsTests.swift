import Foundation
import XCTest

@testable import YOLO

/// Tests read ../shared/datasets and never write there (see `SharedDatasets` and `SharedDatasetsGuard`).
final class SharedDatasetsTests: XCTestCase {
    /// Only what SOURCES.md says was copied: images, labels, the YAMLs and SOURCES.md itself. A label cache or a
    /// temporary file left by any test, of this run or an earlier one, fails here.
    func testTheSharedDatasetsHoldOnlyTheirFixtures() throws {
        _ = try Fixtures.shared("datasets")
        let listing = SharedDatasets.listing()
        XCTAssertFalse(listing.isEmpty)
        let root = Fixtures.sharedRoot.appendingPathComponent("datasets").path
        let strangers = listing.filter { relative in
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory)
            return !isDirectory.boolValue && !["jpg", "txt", "yaml", "md"].contains((relative as NSString).pathExtension)
        }
        XCTAssertEqual(strangers.sorted(), [], "files no test may leave under \(root); remove them")
    }

    /// The copy is made once per process, its `path:` names the copy, and a scan writes its cache there.
    func testACopyTakesTheLabelCacheAndTheSharedFolderStaysAsItWas() throws {
        let before = SharedDatasets.listing()
        let yaml = try SharedDatasets.yaml("coco8.yaml")
        XCTAssertEqual(try SharedDatasets.yaml("coco8.yaml"), yaml)
        let spec = try DatasetSpec(contentsOf: yaml)
        XCTAssertFalse(spec.root.hasPrefix(Fixtures.sharedRoot.path), spec.root)
        XCTAssertEqual(spec.root, URL(fileURLWithPath: yaml).deletingLastPathComponent().path + "/coco8")
        var options = LabelScan.Options()
        options.log = DataLogging.silent
        let scan = try LabelScan(imageFiles: try spec.imageFiles(split: "val"), spec: spec, options: options)
        XCTAssertEqual(scan.summary, "4 images, 0 backgrounds, 0 corrupt")
        XCTAssertEqual(scan.cachePath, spec.root + "/labels/val.swift-yolo.cache")
        XCTAssertTrue(FileManager.default.fileExists(atPath: scan.cachePath))
        XCTAssertEqual(SharedDatasets.listing(), before)
        // The second YAML on the same folder shares the copy.
        let trainval = try DatasetSpec(contentsOf: try SharedDatasets.yaml("coco8-trainval.yaml"))
        XCTAssertEqual(trainval.root, spec.root)
        XCTAssertEqual(trainval.splits["val"], [spec.root + "/images/train"])
    }
}
