import Foundation
import XCTest

@testable import YOLO

/// Dataset YAMLs as the reference reads them: names, nc, paths, splits, pose keys, and the errors it raises.
final class DataSpecTests: XCTestCase {
    var folder: ScratchFolder!

    override func setUpWithError() throws { folder = try ScratchFolder(name) }
    override func tearDown() { folder.remove() }

    func testCoco8YAMLHasItsEightyNamesAndResolvesItsRootAgainstTheYAMLFolder() throws {
        let yaml = try Fixtures.shared("datasets/coco8.yaml")
        let spec = try DatasetSpec(contentsOf: yaml)
        XCTAssertEqual(spec.nc, 80)
        XCTAssertEqual(spec.names.first, "person")
        XCTAssertEqual(spec.names.last, "toothbrush")
        let folder = URL(fileURLWithPath: yaml).deletingLastPathComponent().standardizedFileURL.path
        XCTAssertEqual(spec.root, folder + "/coco8")
        XCTAssertEqual(spec.splits["train"], [folder + "/coco8/images/train"])
        XCTAssertEqual(try spec.imageFiles(split: "train").count, 4)
        XCTAssertEqual(try spec.imageFiles(split: "val").count, 4)
    }

    func testNamesAsListMapOrCountOnly() throws {
        try folder.mkdir("images/train")
        let list = try spec("path: .\ntrain: images/train\nval: images/train\nnames: [cat, dog]\n")
        XCTAssertEqual(list.names, ["cat", "dog"])
        let map = try spec("path: .\ntrain: images/train\nval: images/train\nnames:\n  1: dog\n  0: cat\n")
        XCTAssertEqual(map.names, ["cat", "dog"])
        let countOnly = try spec("train: images/train\nval: images/train\nnc: 3\n")
        XCTAssertEqual(countOnly.names, ["class_0", "class_1", "class_2"])
    }

    func testYAMLWithoutNamesOrNcIsAnErrorNamingTheFileAndTheKey() throws {
        XCTAssertThrowsError(try spec("train: images/train\nval: images/val\n")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("names") && text.contains("data.yaml"), text)
        }
    }

    func testMismatchedNcGapsInNamesAndMissingSplitKeysAreErrors() throws {
        XCTAssertThrowsError(try spec("train: a\nval: b\nnc: 3\nnames: [a, b]\n")) { error in
            XCTAssertTrue("\(error)".contains("must match"), "\(error)")
        }
        XCTAssertThrowsError(try spec("train: a\nval: b\nnames: {0: a, 2: c}\n")) { error in
            XCTAssertTrue("\(error)".contains("class indices"), "\(error)")
        }
        XCTAssertThrowsError(try spec("val: b\nnames: [a]\n")) { error in
            XCTAssertTrue("\(error)".contains("'train:'"), "\(error)")
        }
        XCTAssertThrowsError(try spec("train: a\nval: b\nnames: [a]\nkpt_shape: [17, 4]\n")) { error in
            XCTAssertTrue("\(error)".contains("kpt_shape"), "\(error)")
        }
        let renamed = try spec("train: a\nvalidation: b\nnames: [a]\n")
        XCTAssertNotNil(renamed.splits["val"])
        XCTAssertTrue(renamed.warnings.first?.contains("validation") == true)
    }

    func testMissingSplitPathIsAnErrorNamingThePath() throws {
        let s = try spec("path: data\ntrain: images/train\nval: images/val\nnames: [a]\n")
        XCTAssertThrowsError(try s.imageFiles(split: "val")) { error in
            XCTAssertTrue("\(error)".contains(folder.file("data/images/val")), "\(error)")
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        XCTAssertThrowsError(try s.imageFiles(split: "test")) { error in
            XCTAssertTrue("\(error)".contains("'test:'"), "\(error)")
        }
    }

    func testSplitsAsFolderTextListAndListOfPaths() throws {
        try Scenes.writeDataset(
            [("a", 32, 24, []), ("b", 32, 24, [])], in: folder, split: "one")
        try Scenes.writeDataset([("c", 32, 24, [])], in: folder, split: "two")
        try folder.write("./images/one/b.png\n\(folder.file("images/two/c.png"))\nnot-an-image.txt\n", to: "list.txt")
        let s = try spec(
            "path: .\ntrain: [images/one, images/two]\nval: list.txt\ntest: images/two/c.png\nnames: [a]\n")
        XCTAssertEqual(
            try s.imageFiles(split: "train").map { URL(fileURLWithPath: $0).lastPathComponent },
            ["a.png", "b.png", "c.png"])
        XCTAssertEqual(
            try s.imageFiles(split: "val"), [folder.file("images/one/b.png"), folder.file("images/two/c.png")])
        XCTAssertEqual(try s.imageFiles(split: "test"), [folder.file("images/two/c.png")])
    }

    func testEmptySplitFolderIsAnError() throws {
        try folder.mkdir("images/train")
        try folder.write("not an image", to: "images/train/readme.txt")
        let s = try spec("path: .\ntrain: images/train\nval: images/train\nnames: [a]\n")
        XCTAssertThrowsError(try s.imageFiles(split: "train")) { error in
            XCTAssertTrue("\(error)".contains("no images found"), "\(error)")
        }
    }

    func testLabelPathReplacesTheLastImagesFolderAndTheExtension() {
        XCTAssertEqual(
            ImageFiles.labelPath(forImage: "/d/images/x/images/train/a.b.jpg"), "/d/images/x/labels/train/a.b.txt")
        XCTAssertEqual(ImageFiles.labelPath(forImage: "/d/pics/a.png"), "/d/pics/a.txt")
    }

    func testPoseKeysAreRead() throws {
        let s = try DatasetSpec(contentsOf: try Fixtures.shared("datasets/coco8-pose.yaml"))
        XCTAssertEqual(s.keypointShape?.count, 17)
        XCTAssertEqual(s.keypointShape?.dims, 3)
        XCTAssertEqual(s.flipIndex?.prefix(3), [0, 2, 1])
        XCTAssertEqual(s.names, ["person"])
    }

    func testAugmentConfigHasTheReferenceDefaultsAndReadsKeyValues() throws {
        let d = AugmentConfig()
        XCTAssertEqual(
            [d.hsvH, d.hsvS, d.hsvV, d.degrees, d.translate, d.scale, d.shear, d.perspective],
            [0.015, 0.7, 0.4, 0, 0.1, 0.5, 0, 0])
        XCTAssertEqual([d.flipud, d.fliplr, d.mosaic, d.mixup, d.copyPaste], [0, 0.5, 1, 0, 0])
        XCTAssertEqual(d.closeMosaic, 10)
        let c = try AugmentConfig(words: ["mosaic=0.5", "degrees=10", "close_mosaic=2", "lr0=0.1", "scale=[0.8, 1.2]"])
        XCTAssertEqual(c.mosaic, 0.5)
        XCTAssertEqual(c.degrees, 10)
        XCTAssertEqual(c.closeMosaic, 2)
        XCTAssertEqual(c.scaleFactors, 0.8...1.2)
        XCTAssertThrowsError(try AugmentConfig(["fliplr": .string("often")]))
        XCTAssertThrowsError(try AugmentConfig(["mosaic": .double(1.5)]))
        // close_mosaic: the last 2 of 5 epochs have no mosaic, mixup or copy-paste.
        XCTAssertEqual(c.forEpoch(2, of: 5).mosaic, 0.5)
        XCTAssertEqual(c.forEpoch(3, of: 5).mosaic, 0)
        XCTAssertEqual(c.forEpoch(4, of: 5).mixup, 0)
        XCTAssertEqual(c.forEpoch(4, of: nil).mosaic, 0.5)
    }

    func testYAMLOfACopyKeepsTheClassesAndPoseKeys() throws {
        try folder.mkdir("images/train")
        let original = try spec(
            "path: .\ntrain: images/train\nval: images/train\nkpt_shape: [3, 2]\nflip_idx: [2, 1, 0]\n"
                + "kpt_oks_sigmas: [0.5, 0.25, 0.125]\nnames:\n  0: 'a: b'\n  1: \"it's\"\n")
        try folder.mkdir("copy/images/val")
        try folder.write(original.yaml(path: folder.file("copy"), train: "images/val", val: "images/val"), to: "copy.yaml")
        let copy = try DatasetSpec(contentsOf: folder.file("copy.yaml"))
        XCTAssertEqual(copy.names, ["a: b", "it's"])
        XCTAssertEqual(copy.keypointShape?.count, 3)
        XCTAssertEqual(copy.keypointShape?.dims, 2)
        XCTAssertEqual(copy.flipIndex, [2, 1, 0])
        XCTAssertEqual(copy.keypointSigmas, [0.5, 0.25, 0.125])
        XCTAssertEqual(copy.splits["val"], [folder.file("copy/images/val")])
    }

    private func spec(_ yaml: String) throws -> DatasetSpec {
        try folder.write(yaml, to: "data.yaml")
        return try DatasetSpec(contentsOf: folder.file("data.yaml"))
    }
}
