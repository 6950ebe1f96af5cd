import Foundation

/// What the reference's validator writes into the run folder with `plots=True`: the PR, F1, P and R curves (when
/// any class has labels) and both confusion matrices.
///
///     let output = try validator.run(model)
///     try ValidationPlots.write(results: output.results, confusion: output.confusion, to: run.url)
public enum ValidationPlots {
    /// The figures by file name, in the order the reference writes them.
    public static func figures(results: DetectionResults, confusion: ConfusionMatrix?) -> [(String, Figure)] {
        var figures: [(String, Figure)] = []
        if !results.perClass.classes.isEmpty {
            figures.append(("BoxPR_curve.png", CurvePlot.precisionRecall(results)))
            for metric in CurvePlot.Metric.allCases {
                figures.append((metric.fileName, CurvePlot.metricConfidence(results, metric: metric)))
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
    public static func write(results: DetectionResults, confusion: ConfusionMatrix?, to folder: URL) throws -> [URL] {
        try figures(results: results, confusion: confusion).map { name, figure in
            let url = folder.appendingPathComponent(name)
            try figure.write(to: url)
            return url
        }
    }
}
