import Foundation
import Torch

/// Builds tensors from the calls PyTorch pickles for them (`_rebuild_tensor_v2(storage, offset, size, stride,
/// ...)`, wrapped in `_rebuild_parameter` for parameters), reading each storage when a tensor first needs it.
final class TensorBuilder {
    /// Returns the bytes of storage `key`, which must hold exactly `byteCount` bytes.
    typealias StorageReader = (_ key: String, _ byteCount: Int) throws -> Data

    private let readStorage: StorageReader
    private var storages: [String: Data] = [:]
    static let maxDimensions = 64

    init(readStorage: @escaping StorageReader) { self.readStorage = readStorage }

    /// Whether `value` is one of the calls `tensor(from:)` rebuilds.
    static func isTensor(_ value: PickleValue) -> Bool {
        guard let name = value.object?.className else { return false }
        return name.hasPrefix("torch._utils._rebuild_") || name == "torch._tensor._rebuild_from_type_v2"
    }

    func tensor(from value: PickleValue) throws -> Tensor {
        guard case .object(let call) = value, let name = call.className else {
            throw CheckpointFailure("expected a tensor, found \(value.kindDescription)")
        }
        switch name {
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let data = call.args.first else { throw CheckpointFailure("\(name) without a tensor") }
            return try tensor(from: data)
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            return try rebuild(call.args)
        case "torch._tensor._rebuild_from_type_v2":  // (function, type, args, state): a tensor subclass
            guard call.args.count >= 3, case .global = call.args[0], let args = call.args[2].sequence else {
                throw CheckpointFailure("malformed \(name)")
            }
            return try tensor(from: .object(PickleObject(callable: call.args[0], args: args)))
        default:
            throw CheckpointFailure("unsupported tensor kind \(name)")
        }
    }

    /// `(storage, storage_offset, size, stride, ...)`.
    private func rebuild(_ args: [PickleValue]) throws -> Tensor {
        guard args.count >= 4, case .persistent(let id) = args[0] else {
            throw CheckpointFailure("a tensor's arguments do not start with a storage")
        }
        let storage = try StorageRef(id)
        guard let offset = args[1].int, offset >= 0 else { throw CheckpointFailure("bad storage offset") }
        let shape = try dimensions(args[2], "size")
        let strides = try dimensions(args[3], "stride")
        guard shape.count == strides.count else {
            throw CheckpointFailure("a tensor has \(shape.count) sizes but \(strides.count) strides")
        }
        let layout = try StridedLayout(shape: shape, strides: strides, offset: offset, storageCount: storage.count)
        if layout.count == 0 { return try Tensor(bytes: [], shape: shape, dtype: storage.dtype) }
        let bytes = try storageBytes(storage)
        return try layout.gather(from: bytes, elementSize: storage.dtype.size) { buffer in
            try Tensor(buffer: buffer, shape: shape, dtype: storage.dtype)
        }
    }

    private func dimensions(_ value: PickleValue, _ what: String) throws -> [Int] {
        guard let items = value.sequence, items.count <= Self.maxDimensions else {
            throw CheckpointFailure("a tensor's \(what) is not a tuple of at most \(Self.maxDimensions) integers")
        }
        return try items.map {
            guard let n = $0.int, n >= 0 else {
                throw CheckpointFailure("a tensor's \(what) holds \($0.kindDescription)")
            }
            return n
        }
    }

    private func storageBytes(_ storage: StorageRef) throws -> Data {
        if let cached = storages[storage.key] { return cached }
        let (byteCount, overflow) = storage.count.multipliedReportingOverflow(by: storage.dtype.size)
        guard !overflow else { throw CheckpointFailure("storage \(storage.key) is impossibly large") }
        let bytes = try readStorage(storage.key, byteCount)
        guard bytes.count == byteCount else {
            throw CheckpointFailure("storage \(storage.key) holds \(bytes.count) bytes where \(byteCount) are expected")
        }
        storages[storage.key] = bytes
        return bytes
    }
}

/// A persistent id `('storage', torch.HalfStorage, key, location, numel)`; the location is ignored (CPU).
struct StorageRef {
    let dtype: DType
    let key: String
    let count: Int

    init(_ id: PickleValue) throws {
        guard let fields = id.sequence, fields.count >= 5, fields[0].string == "storage",
              case .global(_, let typeName) = fields[1]
        else { throw CheckpointFailure("unsupported persistent id: \(id.kindDescription)") }
        guard let dtype = Self.dtypes[typeName] else { throw CheckpointFailure("unsupported storage type \(typeName)") }
        guard let key = fields[2].string ?? fields[2].int.map(String.init), let count = fields[4].int, count >= 0 else {
            throw CheckpointFailure("malformed storage id")
        }
        self.dtype = dtype
        self.key = key
        self.count = count
    }

    static let dtypes: [String: DType] = [
        "HalfStorage": .float16, "FloatStorage": .float32, "BFloat16Storage": .bfloat16, "DoubleStorage": .float64,
        "LongStorage": .int64, "IntStorage": .int32, "ByteStorage": .uint8, "CharStorage": .int8,
        "BoolStorage": .bool, "UntypedStorage": .uint8,
    ]
}
