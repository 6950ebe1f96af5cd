/// What `yolo benchmark` measures, read from the reference's arguments: `data` (nil: the built-in dataset, where
/// the reference takes coco8.yaml), a square `imgsz`, and `format` (one format, or every format this build has).
public struct BenchmarkOptions: Equatable, Sendable {
    /// The formats of the table, by the reference's argument name ("-" is PyTorch) and table name.
    public static let formats: [(argument: String, name: String)] = [("-", "PyTorch"), ("onnx", "ONNX")]

    public var data: String?
    public var imgsz: Int
    /// Arguments of the formats to benchmark, in the table's order.
    public var formats: [String]

    public init(data: String? = nil, imgsz: Int = 640, formats: [String] = BenchmarkOptions.formats.map(\.argument)) {
        (self.data, self.imgsz, self.formats) = (data, imgsz, formats)
    }

    public init(_ config: Config) throws {
        data = config.string("data")
        switch config["imgsz"] {
        case .int(let size)?: imgsz = size
        case .list(let sides)? where sides.count == 2 && sides[0].int != nil && sides[0].int == sides[1].int:
            imgsz = sides[0].int!
        case .list(let sides)? where sides.count == 1 && sides[0].int != nil: imgsz = sides[0].int!
        case nil, .null?: imgsz = 640
        case let other?: throw ConfigError("benchmark needs a square imgsz (one integer), got imgsz=\(other)")
        }
        guard imgsz >= 32 else { throw ConfigError("benchmark needs imgsz of at least 32, got \(imgsz)") }
        // The reference's default `format` is its export default (torchscript): here that, or none, means all.
        let format = (config.string("format") ?? "").lowercased()
        let known = BenchmarkOptions.formats.map(\.argument)
        if format.isEmpty || (format == "torchscript" && config["format"] == Config()["format"]) {
            formats = known
        } else if let match = BenchmarkOptions.formats.first(where: { $0.argument == format || $0.name.lowercased() == format }) {
            formats = [match.argument]
        } else {
            throw ConfigError("format=\(format) cannot be benchmarked by this build; expected one of: "
                + BenchmarkOptions.formats.map { "\($0.argument) (\($0.name))" }.joined(separator: ", "))
        }
    }
}
