import Foundation

/// The columns the reference prints while training and validating, each in its printf format, so our console
/// reads like its:
///
///           Epoch    GPU_mem   box_loss   cls_loss   dfl_loss  Instances       Size
///             1/3         0G      2.945       5.55      4.474         13        320: 100% ━━━━━━━━━━━━ 1/1
///                      Class     Images  Instances      Box(P          R      mAP50  mAP50-95)
///                        all          4         17          0          0          0          0
public enum TrainingTable {
    /// `"%11s" * n` over the names: the header above the epoch bar (`lossNames`: box_loss, cls_loss, dfl_loss).
    public static func epochHeader(lossNames: [String] = ["box_loss", "cls_loss", "dfl_loss"]) -> String {
        (["Epoch", "GPU_mem"] + lossNames + ["Instances", "Size"]).map { pad($0, 11) }.joined()
    }

    /// The epoch bar's description: `"%11s" * 2 + "%11.4g" * (2 + losses)`; `epoch` is 1-based.
    public static func epochDescription(
        epoch: Int, epochs: Int, memoryGB: Double, losses: [Double], instances: Int, size: Int
    ) -> String {
        pad("\(epoch)/\(epochs)", 11) + pad(g(memoryGB, 3) + "G", 11)
            + (losses + [Double(instances), Double(size)]).map { pad(g($0, 4), 11) }.joined()
    }

    /// The validation bar's description: `"%22s" + "%11s" * 6`.
    public static func validationHeader() -> String {
        pad("Class", 22) + ["Images", "Instances", "Box(P", "R", "mAP50", "mAP50-95)"].map { pad($0, 11) }.joined()
    }

    /// One row of the validation table: `"%22s" + "%11i" * 2 + "%11.3g" * 4`.
    public static func validationRow(
        name: String, images: Int, instances: Int, precision: Double, recall: Double, mAP50: Double, mAP50_95: Double
    ) -> String {
        pad(name, 22) + pad("\(images)", 11) + pad("\(instances)", 11)
            + [precision, recall, mAP50, mAP50_95].map { pad(g($0, 3), 11) }.joined()
    }

    /// `%.{precision}g`, as C and Python print it.
    public static func g(_ value: Double, _ precision: Int) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return String(format: "%.\(precision)g", value)
    }

    /// Right-aligned in `width` (`%{width}s`); longer text is kept whole.
    public static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
