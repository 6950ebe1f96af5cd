import Foundation
import Vision
import XCTest

@testable import YOLO

/// Dataset folders and predict sources listed as the reference's `glob` lists them: through links to files and to
/// folders, without looping through a link back up.
final class SymlinkListingTests: XCTestCase {
    var folder: ScratchFolder!
    var train: String { folder.file("data/images/train") }

    override func setUpWithError() throws {
        folder = try ScratchFolder(name)
        // Real images outside the dataset, reached through links; a link back up (a cycle); a hidden file; a link
        // to nothing (glob lists it; its check reports it).
        let image = try Image(width: 40, height: 30, fill: Color(b: 30, g: 90, r: 200))
        for file in ["elsewhere/photos/p.png", "elsewhere/photos/deeper/q.png", "elsewhere/single.png",
                     "data/images/train/a.png", "data/images/train/sub/b.png", "data/images/train/.hidden.png"] {
            try FileManager.default.createDirectory(
                atPath: (folder.file(file) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try image.write(to: folder.file(file))
        }
        try link("data/images/train/link.png", to: "../../../elsewhere/single.png")
        try link("data/images/train/linked", to: folder.file("elsewhere/photos"))
        try link("data/images/train/sub/loop", to: "..")
        try link("data/images/train/dangling.png", to: "missing.png")
        try folder.write("not a video, only listed", to: "data/images/train/clip.mp4")
    }

    override func tearDown() { folder.remove() }

    func link(_ relative: String, to destination: String) throws {
        try FileManager.default.createSymbolicLink(atPath: folder.file(relative), withDestinationPath: destination)
    }

    func testDatasetFolderListingFollowsLinksToFilesAndFoldersButNotCycles() throws {
        XCTAssertEqual(
            try ImageFiles.list([train]),
            ["a.png", "dangling.png", "link.png", "linked/deeper/q.png", "linked/p.png", "sub/b.png"].map {
                train + "/" + $0
            })
        // Spelled with a trailing slash, the paths are the same.
        XCTAssertEqual(try ImageFiles.list([train + "/"]), try ImageFiles.list([train]))
    }

    func testLinkedImagesAreScannedWithTheLabelsTheirSpelledPathsName() throws {
        for stem in ["a", "link", "linked/p", "linked/deeper/q", "sub/b"] {
            try folder.write("0 0.5 0.5 0.25 0.25\n", to: "data/labels/train/\(stem).txt")
        }
        try folder.write("path: .\ntrain: images/train\nval: images/train\nnames: [thing]\n", to: "data/data.yaml")
        let spec = try DatasetSpec(contentsOf: folder.file("data/data.yaml"))
        var options = LabelScan.Options()
        let lines = LogLines()
        options.log = lines.log
        let scan = try LabelScan(imageFiles: try spec.imageFiles(split: "train"), spec: spec, options: options)
        XCTAssertEqual(scan.summary, "5 images, 0 backgrounds, 1 corrupt", lines.text)
        XCTAssertEqual(
            scan.labels.map { String($0.imageFile.dropFirst(train.count + 1)) },
            ["a.png", "link.png", "linked/deeper/q.png", "linked/p.png", "sub/b.png"])
        XCTAssertTrue(lines.text.contains("dangling.png"), lines.text)
    }

    func testPredictFolderTakesItsOwnFilesThroughLinksImagesFirst() throws {
        // The reference's `glob(folder/*.*)`: not the sub-folders, linked or not; then images before videos.
        XCTAssertEqual(
            try PredictSource.items(train),
            [.image(train + "/a.png"), .image(train + "/dangling.png"), .image(train + "/link.png"),
             .video(train + "/clip.mp4")])
    }

    func testPredictGlobWithDoubleStarEntersLinkedFoldersOnce() throws {
        XCTAssertEqual(
            try PredictSource.items(train + "/**/*.png"),
            ["a.png", "dangling.png", "link.png", "linked/deeper/q.png", "linked/p.png", "sub/b.png"].map {
                .image(train + "/" + $0)
            })
        XCTAssertEqual(try PredictSource.items(train + "/linked/*.png"), [.image(train + "/linked/p.png")])
        XCTAssertEqual(try PredictSource.items(train + "/*/p.png"), [.image(train + "/linked/p.png")])
        XCTAssertEqual(try PredictSource.items(train + "/.*.png"), [.image(train + "/.hidden.png")])
    }

    func testGlobMatchesLiteralAndWildcardComponentsAsPython() {
        XCTAssertEqual(PathGlob.matches(train + "/link.png"), [train + "/link.png"])
        XCTAssertEqual(PathGlob.matches(train + "/dangling.png"), [train + "/dangling.png"], "lexists, as glob")
        XCTAssertEqual(PathGlob.matches(train + "/nothing.png"), [])
        XCTAssertEqual(PathGlob.matches(train + "/[ab].png"), [train + "/a.png"])
        XCTAssertEqual(PathGlob.matches(train + "/s?b/b.png"), [train + "/sub/b.png"])
        XCTAssertEqual(Set(PathGlob.matches(train + "/**")).count, 11, "every entry below, the cycle's link once")
    }
}
