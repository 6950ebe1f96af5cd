import Foundation
import Vision
import XCTest

@testable import YOLO

/// The transforms: the letterbox against the reference's pixels, and for every augmentation, over many seeds, that
/// each surviving box still bounds its rectangle's pixels and that boxes leaving the image are clipped or dropped.
final class DataAugmentTests: XCTestCase {
    func testLetterboxOfBusMatchesTheReferenceWithinOneGreyLevel() throws {
        let image = try Image(contentsOf: try Fixtures.shared("assets/bus.jpg"))
        let boxed = try Letterbox(size: 640).apply(image)
        let expected = try [UInt8](
            Data(
                contentsOf: URL(
                    fileURLWithPath: try Fixtures.shared(
                        "reference/yolov8n-coco8/letterbox_640_bgr.u8"))))
        XCTAssertEqual([boxed.height, boxed.width, boxed.channels], [640, 640, 3])
        let ours = boxed.bytes
        XCTAssertEqual(ours.count, expected.count)
        let worst = zip(ours, expected).map { abs(Int($0) - Int($1)) }.max() ?? 255
        XCTAssertLessThanOrEqual(worst, 1)
    }

    func testLetterboxPlacementMatchesTheReferenceArithmetic() {
        // (source h, w), letterbox, then the reference's ratio (w, h), new_unpad (w, h), top, bottom, left, right.
        typealias Case = (ImageShape, Letterbox, [Double], [Int], [Int])
        let cases: [Case] = [
            (
                .init(height: 1080, width: 810), Letterbox(size: 640), [0.5925925925925926, 0.5925925925925926],
                [480, 640], [0, 0, 80, 80]
            ),
            (
                .init(height: 480, width: 640), Letterbox(shape: .init(height: 640, width: 640), auto: true), [1, 1],
                [640, 480], [0, 0, 0, 0]
            ),
            (
                .init(height: 427, width: 640), Letterbox(shape: .init(height: 320, width: 320), scaleUp: false),
                [0.5, 0.5], [320, 214], [53, 53, 0, 0]
            ),
            (
                .init(height: 100, width: 50), Letterbox(shape: .init(height: 640, width: 640), scaleUp: false),
                [1, 1], [50, 100], [270, 270, 295, 295]
            ),
            (
                .init(height: 100, width: 50), Letterbox(shape: .init(height: 64, width: 96), scaleFill: true),
                [1.92, 0.64], [96, 64], [0, 0, 0, 0]
            ),
            (
                .init(height: 333, width: 517), Letterbox(shape: .init(height: 256, width: 256), center: false),
                [0.4951644100580271, 0.4951644100580271], [256, 165], [0, 91, 0, 0]
            ),
            (
                .init(height: 375, width: 500), Letterbox(shape: .init(height: 352, width: 640)),
                [0.9386666666666666, 0.9386666666666666], [469, 352], [0, 0, 85, 86]
            ),
        ]
        for (source, letterbox, ratio, unpad, pads) in cases {
            let p = letterbox.placement(for: source)
            XCTAssertEqual(p.ratioWidth, ratio[0], accuracy: 1e-12, "\(source)")
            XCTAssertEqual(p.ratioHeight, ratio[1], accuracy: 1e-12, "\(source)")
            XCTAssertEqual([p.resized.width, p.resized.height], unpad, "\(source)")
            XCTAssertEqual([p.top, p.bottom, p.left, p.right], pads, "\(source)")
        }
    }

    func testLetterboxMovesBoxesWithTheirPixelsAndRecordsRatioPad() throws {
        var rng = SampleRNG(7)
        for seed in 0..<20 {
            let (w, h) = (rng.int(in: 40...120), rng.int(in: 40...120))
            let scene = try Scenes.scene(
                width: w, height: h, rects: Scenes.randomRects(width: w, height: h, classes: [0, 1, 2], rng: &rng))
            let target = ImageShape(height: 96, width: 96)
            let boxed = try Letterbox(shape: target).apply(scene)
            XCTAssertEqual(boxed.shape, target)
            Scenes.assertBoxesBoundPixels(boxed, "letterbox seed \(seed)")
            // ratio_pad maps every box back to where it was.
            for (before, after) in zip(scene.labels.boxes, boxed.labels.boxes) {
                XCTAssertEqual(
                    Double(after.x1), Double(before.x1) * boxed.ratioPad.ratioWidth + boxed.ratioPad.padLeft,
                    accuracy: 1e-3)
                XCTAssertEqual(
                    Double(after.y2), Double(before.y2) * boxed.ratioPad.ratioHeight + boxed.ratioPad.padTop,
                    accuracy: 1e-3)
            }
        }
    }

    func testMosaicBoxesBoundTheirPixelsOverManySeeds() throws {
        var rng = SampleRNG(11)
        for seed in 0..<40 {
            let tiles = try (0..<4).map { tile -> LabeledImage in
                let (w, h) = (rng.int(in: 30...64), rng.int(in: 30...64))
                let rects = Scenes.randomRects(width: w, height: h, classes: [2 * tile, 2 * tile + 1], rng: &rng)
                return try Scenes.scene(width: w, height: h, rects: rects)
            }
            let mosaic = try Mosaic(imgsz: 48).apply(tiles, rng: &rng)
            XCTAssertEqual(mosaic.shape, ImageShape(height: 96, width: 96))
            // Tiles are cut only by the canvas edges, where their boxes are clipped: every box stays tight.
            Scenes.assertBoxesBoundPixels(mosaic, slack: 0.01, "mosaic seed \(seed)")
            let visible = tiles.flatMap(\.labels.classes).filter {
                Scenes.pixels(of: Scenes.palette[$0], in: mosaic.image) != nil
            }
            XCTAssertEqual(
                Set(mosaic.labels.classes), Set(visible), "mosaic seed \(seed): a visible object lost its box")
        }
    }

    func testRandomPerspectiveBoxesBoundTheirPixelsAndLeavingBoxesAreClippedOrDropped() throws {
        let settings: [(String, RandomPerspective, Bool)] = [
            ("default", RandomPerspective(size: .init(height: 64, width: 64)), true),
            (
                "translate", RandomPerspective(translate: 0.4, scale: 0.9...1.6, size: .init(height: 64, width: 64)),
                true
            ),
            (
                "rotate+shear",
                RandomPerspective(degrees: 30, translate: 0.2, shear: 10, size: .init(height: 64, width: 64)), false
            ),
            (
                "perspective", RandomPerspective(degrees: 10, perspective: 0.001, size: .init(height: 64, width: 64)),
                false
            ),
        ]
        var rng = SampleRNG(3)
        var clipped = 0
        var dropped = 0
        for (name, warp, axisAligned) in settings {
            for seed in 0..<40 {
                let (w, h) = (rng.int(in: 48...96), rng.int(in: 48...96))
                let scene = try Scenes.scene(
                    width: w, height: h,
                    rects: Scenes.randomRects(width: w, height: h, classes: [0, 1, 2, 3], rng: &rng))
                var draw = rng
                let (m, s) = warp.matrix(input: scene.shape, output: warp.size!, rng: &draw)
                let out = try warp.apply(scene, rng: &rng)
                XCTAssertEqual(out.shape, warp.size!)
                let context = "\(name) seed \(seed)"
                for box in out.labels.boxes {  // inside the image
                    XCTAssertTrue(box.x1 >= 0 && box.y1 >= 0 && box.x2 <= 64 && box.y2 <= 64, "\(context): \(box)")
                }
                // Boxes bound their pixels; an axis-aligned warp keeps them tight, clipped or not. A rotated box
                // clipped by the border can be larger than what is left visible, so only containment is checked.
                Scenes.assertBoxesBoundPixels(out, slack: 2, tight: axisAligned, context)
                // Every dropped object is one the reference drops: too small, too thin, or mostly outside.
                for (cls, before) in zip(scene.labels.classes, scene.labels.boxes)
                where !out.labels.classes.contains(cls) {
                    dropped += 1
                    let corners = [
                        (before.x1, before.y1), (before.x2, before.y2), (before.x1, before.y2), (before.x2, before.y1),
                    ]
                    .map { project(m, $0.0, $0.1, perspective: warp.perspective != 0) }
                    let x1 = max(0, corners.map(\.0).min()!)
                    let x2 = min(64, corners.map(\.0).max()!)
                    let y1 = max(0, corners.map(\.1).min()!)
                    let y2 = min(64, corners.map(\.1).max()!)
                    let (wa, ha) = (Double(max(x2 - x1, 0)), Double(max(y2 - y1, 0)))
                    let area = Double(before.area) * s * s
                    XCTAssertTrue(
                        wa <= 2 || ha <= 2 || wa * ha / area <= 0.1 || max(wa / ha, ha / wa) >= 100,
                        "\(context): class \(cls) dropped with a \(wa)x\(ha) box of \(area) px²")
                }
                clipped +=
                    zip(out.labels.boxes, out.labels.classes).filter { box, _ in
                        box.x1 == 0 || box.y1 == 0 || box.x2 == 64 || box.y2 == 64
                    }.count
            }
        }
        XCTAssertGreaterThan(clipped, 10, "the seeds should push some boxes over the border")
        XCTAssertGreaterThan(dropped, 10, "the seeds should push some boxes out")
    }

    func testBoxCandidatesFollowTheReferenceThresholds() {
        let before = ObjectLabels.Box(x1: 0, y1: 0, x2: 100, y2: 100)
        func keep(_ after: ObjectLabels.Box, area: Float = 0.1) -> Bool {
            RandomPerspective.boxCandidates(before: [before], after: [after], areaRatio: area)[0]
        }
        XCTAssertTrue(keep(.init(x1: 10, y1: 10, x2: 90, y2: 90)))
        XCTAssertFalse(keep(.init(x1: 0, y1: 0, x2: 2, y2: 50)))  // not wider than 2 px
        XCTAssertFalse(keep(.init(x1: 0, y1: 0, x2: 31, y2: 32)))  // 9.9% of the area
        XCTAssertTrue(keep(.init(x1: 0, y1: 0, x2: 31, y2: 32), area: 0.01))  // polygons use 1%
        // Aspect ratio 333 >= 100.
        let thin = ObjectLabels.Box(x1: 0, y1: 0, x2: 1000, y2: 3)
        XCTAssertFalse(RandomPerspective.boxCandidates(before: [thin], after: [thin])[0])
    }

    func testFlipsMoveBoxesWithTheirPixels() throws {
        var rng = SampleRNG(5)
        for seed in 0..<20 {
            let scene = try Scenes.scene(
                width: 80, height: 60, rects: Scenes.randomRects(width: 80, height: 60, classes: [0, 1, 2], rng: &rng))
            for direction in [RandomFlip.Direction.horizontal, .vertical] {
                let flipped = try RandomFlip(p: 1, direction: direction).apply(scene, rng: &rng)
                Scenes.assertBoxesBoundPixels(flipped, slack: 0.01, "flip \(direction) seed \(seed)")
            }
            let kept = try RandomFlip(p: 0, direction: .horizontal).apply(scene, rng: &rng)
            XCTAssertEqual(kept.labels, scene.labels)
        }
    }

    func testHSVTablesMatchTheReferenceAndTheTransformKeepsBoxes() throws {
        // ultralytics' RandomHSV tables for gains r = (0.01, -0.3, 0.25) and (-0.015, 0.7, -0.4), computed by it.
        let t = RandomHSV.tables(0.01, -0.3, 0.25)
        XCTAssertEqual([0, 1, 100, 178, 179, 180, 255].map { t[0][$0] }, [1, 2, 101, 179, 0, 1, 76])
        XCTAssertEqual([0, 1, 100, 255].map { t[1][$0] }, [0, 0, 70, 178])
        XCTAssertEqual([0, 1, 100, 204, 205, 255].map { t[2][$0] }, [0, 1, 125, 255, 255, 255])
        XCTAssertEqual(
            [0, 1, 2, 3, 100, 179, 255].map { RandomHSV.tables(-0.015, 0.7, -0.4)[0][$0] },
            [177, 178, 179, 0, 97, 176, 72])
        // The in-place mapping equals OpenCV's LUT.
        var rng = SampleRNG(9)
        let scene = try Scenes.scene(
            width: 50, height: 40, rects: Scenes.randomRects(width: 50, height: 40, classes: [0, 1, 5], rng: &rng))
        let hsv = try scene.image.converted(to: .bgrToHSV)
        let expected = try hsv.lut(t).bytes
        RandomHSV.map(hsv, through: t)
        XCTAssertEqual(hsv.bytes, expected)
        // The colours change, the geometry does not: grey stays grey, boxes are the same.
        let jittered = try RandomHSV(hgain: 0.5, sgain: 0.5, vgain: 0.5).apply(scene.image, rng: &rng)
        XCTAssertNotEqual(jittered.bytes, scene.image.bytes)
        let corner = jittered.pixel(x: 0, y: 0)
        XCTAssertTrue(corner[0] == corner[1] && corner[1] == corner[2], "grey has no hue to shift: \(corner)")
        XCTAssertEqual(
            try RandomHSV(hgain: 0, sgain: 0, vgain: 0).apply(scene.image, rng: &rng).bytes, scene.image.bytes)
    }

    func testMixUpBlendsPixelsAndKeepsBothImagesObjects() throws {
        var rng = SampleRNG(21)
        let a = try Scenes.scene(width: 40, height: 40, rects: [.init(cls: 0, x1: 2, y1: 2, x2: 12, y2: 12)])
        let b = try Scenes.scene(width: 40, height: 40, rects: [.init(cls: 1, x1: 20, y1: 20, x2: 35, y2: 30)])
        var draw = rng
        let r = draw.beta(32, 32)
        let mixed = try MixUp.apply(a, b, rng: &rng)
        XCTAssertEqual(mixed.labels.classes, [0, 1])
        XCTAssertEqual(mixed.labels.boxes, a.labels.boxes + b.labels.boxes)
        let (pa, pb) = (a.image.pixel(x: 5, y: 5), b.image.pixel(x: 5, y: 5))
        XCTAssertEqual(mixed.image.pixel(x: 5, y: 5), zip(pa, pb).map { UInt8(Double($0) * r + Double($1) * (1 - r)) })
        XCTAssertTrue((0.3...0.7).contains(r), "Beta(32, 32) stays near 0.5: \(r)")
    }

    func testCopyPasteMirrorsPolygonObjectsWhereTheyDoNotOverlap() throws {
        let rects = [
            Scenes.Rect(cls: 0, x1: 4, y1: 10, x2: 20, y2: 30), Scenes.Rect(cls: 1, x1: 30, y1: 5, x2: 70, y2: 15),
        ]
        var scene = try Scenes.scene(width: 80, height: 40, rects: rects)
        scene.labels.segments = rects.map { r in
            [
                SIMD2(Float(r.x1), Float(r.y1)), SIMD2(Float(r.x2), Float(r.y1)), SIMD2(Float(r.x2), Float(r.y2)),
                SIMD2(Float(r.x1), Float(r.y2)),
            ]
        }
        let pasted = try CopyPaste(p: 1).apply(scene)
        // The wide rectangle overlaps its own mirror image (30-70 -> 10-50): only the small one is copied.
        XCTAssertEqual(pasted.labels.classes, [0, 1, 0])
        XCTAssertEqual(pasted.labels.boxes[2], ObjectLabels.Box(x1: 60, y1: 10, x2: 76, y2: 30))
        XCTAssertEqual(pasted.labels.segments.count, 3)
        XCTAssertEqual(Array(pasted.image.pixel(x: 68, y: 20)), [0, 0, 255], "the copy is red like the original")
        let red = try XCTUnwrap(Scenes.pixels(of: Scenes.palette[0], in: pasted.image))
        XCTAssertEqual([red.x1, red.x2], [4, 76])
        XCTAssertEqual(
            try CopyPaste(p: 1).apply(try Scenes.scene(width: 80, height: 40, rects: rects)).labels.count, 2,
            "boxes without polygons are left alone")
    }

    func testSegmentResamplingKeepsVerticesAndTheVisibleBoxIsClipped() {
        let square: [SIMD2<Float>] = [.init(0, 0), .init(10, 0), .init(10, 10), .init(0, 10)]
        let resampled = SegmentGeometry.resample(square, to: 1000)
        XCTAssertEqual(resampled.count, 1000)
        for vertex in square { XCTAssertTrue(resampled.contains(vertex)) }
        XCTAssertEqual(resampled.last, square[0])
        // A triangle poking out of a 20x20 image through its right edge; and one enclosing the top-left corner.
        let box = SegmentGeometry.box(of: [.init(10, 5), .init(30, 10), .init(10, 15)], width: 20, height: 20)
        XCTAssertEqual(box, ObjectLabels.Box(x1: 10, y1: 5, x2: 20, y2: 15))
        let corner = SegmentGeometry.box(of: [.init(-5, -5), .init(8, -5), .init(-5, 8)], width: 20, height: 20)
        XCTAssertEqual(corner, ObjectLabels.Box(x1: 0, y1: 0, x2: 3, y2: 3))
        XCTAssertEqual(
            SegmentGeometry.box(of: [.init(-9, -9), .init(-1, -9), .init(-1, -1)], width: 20, height: 20),
            ObjectLabels.Box(x1: 0, y1: 0, x2: 0, y2: 0))
    }

    func testMosaicThenPerspectiveThenFlipsBoundTheirPixelsOverManySeeds() throws {
        var rng = SampleRNG(13)
        var hyp = AugmentConfig()
        hyp.degrees = 10
        hyp.shear = 5
        for seed in 0..<40 {
            let tiles = try (0..<4).map { tile -> LabeledImage in
                let (w, h) = (rng.int(in: 40...64), rng.int(in: 40...64))
                return try Scenes.scene(
                    width: w, height: h,
                    rects: Scenes.randomRects(width: w, height: h, classes: [2 * tile, 2 * tile + 1], rng: &rng))
            }
            var sample = try Mosaic(imgsz: 64).apply(tiles, rng: &rng)
            sample = try RandomPerspective(hyp, imgsz: 64).apply(sample, rng: &rng)
            sample = try RandomFlip(p: 0.5, direction: .vertical).apply(sample, rng: &rng)
            sample = try RandomFlip(p: 0.5, direction: .horizontal).apply(sample, rng: &rng)
            XCTAssertEqual(sample.shape, ImageShape(height: 64, width: 64))
            Scenes.assertBoxesBoundPixels(sample, slack: 2, tight: false, "mosaic pipeline seed \(seed)")
        }
    }

    func testTrainingSamplesBoundTheirPixelsAndDependOnlyOnTheirRequest() throws {
        let folder = try ScratchFolder(name)
        defer { folder.remove() }
        var rng = SampleRNG(17)
        let scenes = (0..<4).map { i -> (name: String, width: Int, height: Int, rects: [Scenes.Rect]) in
            let (w, h) = (rng.int(in: 60...100), rng.int(in: 60...100))
            return ("s\(i)", w, h, Scenes.randomRects(width: w, height: h, classes: [2 * i, 2 * i + 1], rng: &rng))
        }
        let yaml = try Scenes.writeDataset(scenes, in: folder)
        var hyp = AugmentConfig()
        (hyp.hsvH, hyp.hsvS, hyp.hsvV) = (0, 0, 0)  // colours identify the rectangles
        (hyp.mosaic, hyp.degrees, hyp.flipud) = (0, 5, 0.5)  // one image per sample: each colour is one object
        let dataset = try TrainDataset(
            spec: try DatasetSpec(contentsOf: yaml), imgsz: 64, hyp: hyp, batchSize: 2, useLabelCache: false,
            log: DataLogging.silent)
        // The same data with the reference's defaults (mosaic on) for the determinism check.
        let mosaics = try TrainDataset(
            spec: try DatasetSpec(contentsOf: yaml), imgsz: 64, batchSize: 2, useLabelCache: false,
            log: DataLogging.silent)
        for position in 0..<30 {
            let request = SampleRequest(
                index: position % 4, epoch: 0, position: position, recent: [0, 1, 2, 3], seed: 99)
            let sample = try dataset.sample(request)
            XCTAssertEqual(sample.shape, ImageShape(height: 64, width: 64))
            Scenes.assertBoxesBoundPixels(sample, slack: 2, tight: false, "pipeline position \(position)")
            let mosaic = try mosaics.sample(request)
            XCTAssertEqual(try mosaics.sample(request).image.bytes, mosaic.image.bytes, "same request, same sample")
            XCTAssertEqual(try mosaics.sample(request).labels, mosaic.labels)
            for box in mosaic.labels.boxes {
                XCTAssertTrue(box.x1 >= 0 && box.x2 <= 64 && box.width > 2 && box.height > 2)
            }
        }
        // mosaic: the loader's mirrored write of a batch sample equals the flipped sample.
        for position in 0..<8 {
            let request = SampleRequest(index: position % 4, position: position, seed: 5)
            let (deferred, mirrored) = try mosaics.batchSample(request)
            let full = try mosaics.sample(request)
            XCTAssertEqual(deferred.labels, full.labels)
            XCTAssertEqual(
                try (mirrored ? deferred.image.flipped(horizontal: true) : deferred.image).bytes, full.image.bytes)
        }
    }

    private func project(_ m: [Double], _ x: Float, _ y: Float, perspective: Bool) -> (Float, Float) {
        let (x, y) = (Double(x), Double(y))
        var (u, v) = (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5])
        if perspective {
            let z = m[6] * x + m[7] * y + m[8]
            (u, v) = (u / z, v / z)
        }
        return (Float(u), Float(v))
    }
}
