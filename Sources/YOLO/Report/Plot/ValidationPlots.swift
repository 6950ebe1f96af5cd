import Foundation

/// What the reference's validator writes into the run folder with `plots=True`: the PR, F1, P and R curves (when
/// any class has labels) and both confusion matrices.
///
///     let output = try validator.run(model)
///     try ValidationPlots.write(results: output.results, confusion: output.confusion, to: run.url)
public enum ValidationPlots {
    /// The figures by file name, in the order the reference writes them.
    /// `instances`: what the task scores beside boxes, by title ("Mask", "Pose"), whose curves follow the box ones
    /// (`MaskPR_curve.png`, `PosePR_curve.png`, ...).
    public static func figures(
        results: DetectionResults, instances: [(String, DetectionResults)] = [], confusion: ConfusionMatrix?
    ) -> [(String, Figure)] {
        var figures: [(String, Figure)] = []
        for (kind, results) in [("Box", results)] + instances where !results.perClass.classes.isEmpty {
            figures.append(("\(kind)PR_curve.png", CurvePlot.precisionRecall(results)))
            for metric in CurvePlot.Metric.allCases {
                figures.append((metric.fileName(kind: kind), CurvePlot.metricConfidence(results, metric: metric)))
            }
        }
        if let confusion {
            for normalize in [true, false] {
                let plot = ConfusionMatrixPlot(confusion, normalize: normalize)
                figures.append((plot.fileName, plot))
            }
        }
        return figures
    }

    /// Writes the figures into `folder`; returns their paths.
    @discardableResult
    public static func write(
        results: DetectionResults, instances: [(String, DetectionResults)] = [], confusion: ConfusionMatrix?, to folder: URL
    ) throws -> [URL] {
        try figures(results: results, instances: instances, confusion: confusion).map { name, figure in
            let url = folder.appendingPathComponent(name)
            try figure.write(to: url)
            return url
        }
    }
}
