import Foundation
import Torch
import Vision

/// Runs a model on images and videos as the reference's `predict`: letterbox to `imgsz`, forward, NMS (conf 0.25,
/// IoU 0.7), boxes scaled back to each image's pixels; optionally saves annotated images or videos, label text files
/// and crops into a run folder, and prints one line per image.
public final class Predictor {
    public let model: DetectionModel
    public var conf: Double, iou: Double, maxDet: Int, imgsz: Int
    public var classes: [Int]?, agnostic: Bool
    /// Segmentation: masks at the original image's size (else at the letterboxed inference size).
    public var retinaMasks: Bool
    public var log: (String) -> Void = { print($0) }
    /// The (height, width) the last image was letterboxed to, for the per-image line.
    public private(set) var lastInputShape = (0, 0)

    /// Where the model is, and in which precision: the images go there.
    let device: Device, dtype: DType

    public init(model: DetectionModel, config: Config = Config()) {
        self.model = model
        (device, dtype) = (model.device, model.dtype)
        model.eval()
        // Every forward allocates tens of megabytes of activations: reused heap blocks instead of fresh pages made
        // bench-predict's zidane.jpg 25% faster.
        if DataLoader.tunesAllocator { _ = AllocatorTuning.applied }
        conf = config.double("conf") ?? 0.25
        iou = config.double("iou") ?? 0.7
        maxDet = config.int("max_det") ?? 300
        imgsz = config.int("imgsz") ?? 640
        classes = config["classes"].flatMap { c in c.int.map { [$0] } ?? c.list?.compactMap(\.int) }
        agnostic = config.bool("agnostic_nms")
        retinaMasks = config.bool("retina_masks")
    }

    /// Detections in one image (BGR, as decoded), with boxes in its pixels.
    public func predict(_ image: Image, path: String = "") throws -> Results {
        var times = [Date()]
        // One image at a time, so the reference pads only to the next multiple of the stride (`auto`).
        let stride = Int(model.strides.max() ?? 32)
        let letterbox = Letterbox(shape: ImageShape(height: imgsz, width: imgsz), auto: true, stride: stride)
        var input = try Predictor.inputTensor(letterbox.apply(image))  // (1, 3, h, w) RGB in [0, 1], h and w ≤ imgsz
        if device != .cpu || dtype != .float32 { input = try input.to(device: device, dtype: dtype) }
        lastInputShape = (input.size(2), input.size(3))
        times.append(Date())
        let (output, raw) = try withNoGrad { try model.predict(input) }
        times.append(Date())
        let kept = try nonMaxSuppression(
            prediction: output.to(.float32), conf: conf, iou: iou, classes: classes, agnostic: agnostic, maxDet: maxDet,
            nc: model.classCount)[0]  // NMS and boxes in float32 (half=True)
        let inputShape = (height: input.size(2), width: input.size(3)), original = (height: image.height, width: image.width)
        var detections = try kept.slice(dim: 1, end: 6)
        var masks: Masks?
        if let prototypes = raw.prototypes {
            let coefficients = try kept.slice(dim: 1, start: 6), proto = try prototypes.select(dim: 0, index: 0)
            var data: Tensor
            if retinaMasks {
                detections = try scaleBoxes(detections, from: inputShape, to: original)
                data = try processMasksNative(
                    prototypes: proto, coefficients: coefficients, boxes: detections.slice(dim: 1, end: 4), original: original)
            } else {
                data = try processMasks(
                    prototypes: proto, coefficients: coefficients, boxes: detections.slice(dim: 1, end: 4), shape: inputShape)
                detections = try scaleBoxes(detections, from: inputShape, to: original)
            }
            if data.size(0) > 0 {  // as the reference: only detections whose mask has a pixel
                let keep = try data.amax(dims: [1, 2]).gt(0)
                if try keep.all().item() == 0 { (detections, data) = (try detections.index([keep]), try data.index([keep])) }
            }
            masks = Masks(data: try data.to(.cpu), originalShape: original)
        } else {
            detections = try scaleBoxes(detections, from: inputShape, to: original)
        }
        var keypoints: Keypoints?
        if let pose = model.detect as? Pose {  // the keypoint columns after box, conf and class
            keypoints = try Keypoints(kept.slice(dim: 1, start: 6), shape: pose.keypointShape, input: inputShape, original: original)
        }
        let boxes = try Boxes(detections.to(.cpu), originalShape: original)
        times.append(Date())
        let ms = zip(times.dropFirst(), times).map { $0.timeIntervalSince($1) * 1000 }
        return Results(path: path, boxes: boxes, masks: masks, keypoints: keypoints, names: model.names,
                       speed: ["preprocess": ms[0], "inference": ms[1], "postprocess": ms[2]])
    }

    /// A BGR image as the model's input, (1, 3, H, W) RGB float32 in [0, 1], in one pass over the pixels: the same
    /// values as `Image.tensor()` (x / 255 from a table), without its colour conversion, copies and strided passes,
    /// which made preprocessing ~6x the reference's in bench-predict. Channels-last, as the pixels come and as the
    /// model runs on the CPU: no conversion before the first convolution.
    static func inputTensor(_ image: Image) throws -> Tensor {
        guard image.channels == 3 else { return try image.tensor() }
        let pixels = image.height * image.width
        let table = (0..<256).map { Float($0) / 255 }
        var values = [Float](repeating: 0, count: 3 * pixels)
        image.withUnsafeBytes { bgr in
            values.withUnsafeMutableBufferPointer { out in
                table.withUnsafeBufferPointer { t in
                    for i in stride(from: 0, to: 3 * pixels, by: 3) {
                        out[i] = t[Int(bgr[i + 2])]
                        out[i + 1] = t[Int(bgr[i + 1])]
                        out[i + 2] = t[Int(bgr[i])]
                    }
                }
            }
        }
        return try Tensor(values, shape: [1, image.height, image.width, 3]).permute(0, 3, 1, 2)
    }

    /// Boxes (n, 6+) from the letterboxed input back to the original image (the reference's `scale_boxes` with
    /// the padding recomputed as its letterbox placed it), clipped to the image.
    func scaleBoxes(_ detections: Tensor, from input: (Int, Int), to original: (Int, Int)) throws -> Tensor {
        guard detections.size(0) > 0 else { return detections }
        let gain = Swift.min(Double(input.0) / Double(original.0), Double(input.1) / Double(original.1))
        let newH = Swift.max(Int((Double(original.0) * gain).rounded(.toNearestOrEven)), 1)
        let newW = Swift.max(Int((Double(original.1) * gain).rounded(.toNearestOrEven)), 1)
        let (gy, gx) = (Double(newH) / Double(original.0), Double(newW) / Double(original.1))
        let padX = (Double(input.1 - newW) / 2 - 0.1).rounded(.toNearestOrEven)
        let padY = (Double(input.0 - newH) / 2 - 0.1).rounded(.toNearestOrEven)
        let c = try detections.split([1, 1, 1, 1, detections.size(1) - 4], dim: 1)
        let x1 = try ((c[0] - padX) / gx).clamp(min: 0, max: Double(original.1))
        let y1 = try ((c[1] - padY) / gy).clamp(min: 0, max: Double(original.0))
        let x2 = try ((c[2] - padX) / gx).clamp(min: 0, max: Double(original.1))
        let y2 = try ((c[3] - padY) / gy).clamp(min: 0, max: Double(original.0))
        return try Tensor.cat([x1, y1, x2, y2, c[4]], dim: 1)
    }
}

/// Where predictions go and what is written: `runs/detect/predict*/` with annotated images (`save`), label files
/// (`save_txt`, with `save_conf`), and crops (`save_crop`).
public struct PredictionWriter {
    public let folder: URL
    public var saveImages = true, saveText = false, saveConfidence = false, saveCrops = false
    public var lineWidth: Int?, showLabels = true, showConfidence = true

    public init(folder: URL, config: Config) {
        self.folder = folder
        saveImages = config.bool("save")
        saveText = config.bool("save_txt")
        saveConfidence = config.bool("save_conf")
        saveCrops = config.bool("save_crop")
        lineWidth = config.int("line_width")
        showLabels = config.bool("show_labels")
        showConfidence = config.bool("show_conf")
    }

    /// Draws the masks (translucent, alpha 0.5), the boxes with class colours and labels (the reference's
    /// annotator: line width from the image size).
    public func annotate(_ image: Image, _ results: Results) throws -> Image {
        let out = try image.copy()
        if let masks = results.masks {
            try masks.blend(into: out, colors: results.boxes.cls.map { BatchPlot.color(forClass: $0) }, alpha: 0.5)
        }
        let width = lineWidth ?? Swift.max(Int((Double(image.height + image.width) / 2 * 0.003).rounded()), 2)
        for d in results.boxes.detections {
            let color = BatchPlot.color(forClass: d.classIndex)
            let (x1, y1, x2, y2) = (Int(d.box.x1), Int(d.box.y1), Int(d.box.x2), Int(d.box.y2))
            try out.drawRectangle(x1: x1, y1: y1, x2: x2, y2: y2, color: color, thickness: width)
            guard showLabels || showConfidence else { continue }
            var label = showLabels ? (results.names[d.classIndex] ?? "\(d.classIndex)") : ""
            if showConfidence { label += (label.isEmpty ? "" : " ") + String(format: "%.2f", d.confidence) }
            let scale = Double(width) / 3
            let size = try Image.textSize(label, scale: scale, thickness: Swift.max(width - 1, 1))
            let above = y1 - size.height - 3 >= 0
            let top = above ? y1 - size.height - 3 : y1
            try out.fillRectangle(x1: x1, y1: top, x2: x1 + size.width, y2: top + size.height + 3, color: color)
            try out.drawText(label, x: x1, y: top + size.height + 1, scale: scale, color: .white, thickness: Swift.max(width - 1, 1))
        }
        try results.keypoints?.draw(on: out, lineWidth: width)
        return out
    }

    /// Writes what the settings ask for, for one image named `name` (no extension).
    public func write(_ image: Image, _ results: Results, name: String, ext: String = "jpg") throws {
        if saveImages { try annotate(image, results).write(to: folder.appendingPathComponent("\(name).\(ext)").path) }
        if saveText {
            let labels = folder.appendingPathComponent("labels")
            try FileManager.default.createDirectory(at: labels, withIntermediateDirectories: true)
            let lines = results.textLines(includeConfidence: saveConfidence)
            if !lines.isEmpty {
                try (lines.joined(separator: "\n") + "\n").write(
                    to: labels.appendingPathComponent("\(name).txt"), atomically: true, encoding: .utf8)
            }
        }
        if saveCrops {
            for (i, d) in results.boxes.detections.enumerated() {
                let className = results.names[d.classIndex] ?? "\(d.classIndex)"
                let crops = folder.appendingPathComponent("crops").appendingPathComponent(className)
                try FileManager.default.createDirectory(at: crops, withIntermediateDirectories: true)
                let x = Int(d.box.x1), y = Int(d.box.y1)
                let w = Swift.max(Int(d.box.x2) - x, 1), h = Swift.max(Int(d.box.y2) - y, 1)
                try image.cropped(x: x, y: y, width: w, height: h)
                    .write(to: crops.appendingPathComponent("\(name)\(i == 0 ? "" : "\(i + 1)").jpg").path)
            }
        }
    }
}
