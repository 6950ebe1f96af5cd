import CTorch
import Foundation

/// A value tree that a torch pickle file holds: what `torch.save` writes and `torch.load` returns.
public indirect enum StoredValue {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case tensor(Tensor)
    case list([StoredValue])
    /// String keys, in insertion order.
    case dict([(String, StoredValue)])

    public subscript(key: String) -> StoredValue? {
        if case .dict(let entries) = self { return entries.first { $0.0 == key }?.1 }
        return nil
    }
    public var tensor: Tensor? { if case .tensor(let t) = self { t } else { nil } }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var int: Int? { if case .int(let i) = self { i } else { nil } }
    public var double: Double? {
        switch self {
        case .double(let d): d
        case .int(let i): Double(i)
        default: nil
        }
    }
}

/// Reads and writes torch pickle files (a zip holding `data.pkl` and tensor storages) through libtorch.
public enum Serialization {
    /// Writes `value` to `path` as `torch.save` would, durably (`DurableFile`): a crash or a failed write leaves the
    /// old file whole.
    public static func save(_ value: StoredValue, to path: String) throws {
        let handle = try encode(value)
        defer { ct_value_free(handle) }
        guard let buffer = ct_pickle_dump(handle) else { throw TorchError.last() }
        defer { ct_buffer_free(buffer) }
        try DurableFile.write(UnsafeRawBufferPointer(start: ct_buffer_data(buffer), count: ct_buffer_size(buffer)),
                              to: URL(fileURLWithPath: path))
    }

    /// Reads a file written by `save` or by `torch.save` of tensors, numbers, strings, lists and dicts.
    public static func load(from path: String) throws -> StoredValue {
        guard FileManager.default.fileExists(atPath: path) else { throw TorchError("no such file: \(path)") }
        guard let handle = ct_pickle_load(path) else { throw TorchError.last() }
        defer { ct_value_free(handle) }
        return try decode(handle)
    }

    /// Saves named tensors (a state dict) with string metadata: `{"tensors": {name: tensor}, "metadata": {...}}`.
    public static func save(tensors: [(String, Tensor)], metadata: [String: String] = [:], to path: String) throws {
        try save(
            .dict([
                ("tensors", .dict(tensors.map { ($0.0, .tensor($0.1)) })),
                ("metadata", .dict(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ]), to: path)
    }

    /// Reads what `save(tensors:metadata:to:)` wrote.
    public static func loadTensors(from path: String) throws -> (tensors: [(String, Tensor)], metadata: [String: String]) {
        let value = try load(from: path)
        guard case .dict(let entries)? = value["tensors"] else {
            throw TorchError("\(path) holds no 'tensors' dictionary")
        }
        let tensors = try entries.map { (name, v) -> (String, Tensor) in
            guard let t = v.tensor else { throw TorchError("\(path): entry '\(name)' is not a tensor") }
            return (name, t)
        }
        var metadata: [String: String] = [:]
        if case .dict(let m)? = value["metadata"] { for (k, v) in m { metadata[k] = v.string } }
        return (tensors, metadata)
    }

    private static func encode(_ value: StoredValue) throws -> OpaquePointer {
        func made(_ h: OpaquePointer?) throws -> OpaquePointer {
            guard let h else { throw TorchError.last() }
            return h
        }
        switch value {
        case .none: return try made(ct_value_none())
        case .bool(let b): return try made(ct_value_bool(b))
        case .int(let i): return try made(ct_value_int(Int64(i)))
        case .double(let d): return try made(ct_value_double(d))
        case .string(let s): return try made(ct_value_string(s))
        case .tensor(let t):
            // Written from CPU copies: a checkpoint trained on a GPU loads on any machine.
            return try made(ct_value_tensor((t.device == .cpu ? t : try t.to(.cpu)).handle))
        case .list(let items):
            let handles = try encodeAll(items)
            defer { handles.forEach(ct_value_free) }
            return try made(ct_value_list(handles.map { Optional($0) }, Int32(handles.count)))
        case .dict(let entries):
            let handles = try encodeAll(entries.map(\.1))
            defer { handles.forEach(ct_value_free) }
            let keys = entries.map { strdup($0.0) }
            defer { keys.forEach { free($0) } }
            let keyPointers = keys.map { UnsafePointer($0) }
            return try made(ct_value_dict(keyPointers, handles.map { Optional($0) }, Int32(handles.count)))
        }
    }

    /// Handles for each value; when one fails, those already made are freed before the error goes on.
    private static func encodeAll(_ values: [StoredValue]) throws -> [OpaquePointer] {
        var handles: [OpaquePointer] = []
        do {
            for value in values { handles.append(try encode(value)) }
        } catch {
            handles.forEach(ct_value_free)
            throw error
        }
        return handles
    }

    private static func decode(_ handle: OpaquePointer) throws -> StoredValue {
        let kind = ct_value_kind(handle)
        try check(kind)
        switch Int(kind) {
        case Int(CT_VALUE_NONE): return .none
        case Int(CT_VALUE_BOOL):
            var value = false
            try check(ct_value_to_bool(handle, &value))
            return .bool(value)
        case Int(CT_VALUE_INT):
            var value: Int64 = 0
            try check(ct_value_to_int(handle, &value))
            return .int(Int(value))
        case Int(CT_VALUE_DOUBLE):
            var value = 0.0
            try check(ct_value_to_double(handle, &value))
            return .double(value)
        case Int(CT_VALUE_STRING):
            guard let text = ct_value_to_string(handle) else { throw TorchError.last() }
            return .string(String(cString: text))
        case Int(CT_VALUE_TENSOR): return .tensor(try checked(ct_value_to_tensor(handle)))
        case Int(CT_VALUE_LIST):
            let values = try items(handle)
            defer { values.forEach(ct_value_free) }
            return .list(try values.map(decode))
        case Int(CT_VALUE_DICT):
            let values = try items(handle)
            defer { values.forEach(ct_value_free) }
            return .dict(
                try values.enumerated().map { (i, v) in
                    guard let key = ct_value_key(handle, Int32(i)) else { throw TorchError.last() }
                    return (String(cString: key), try decode(v))
                })
        default: throw TorchError("unsupported value type in pickle file")
        }
    }

    /// New handles to the items of a list or the values of a dict; the caller frees them.
    private static func items(_ handle: OpaquePointer) throws -> [OpaquePointer] {
        let count = ct_value_count(handle)
        try check(count)
        var items: [OpaquePointer] = []
        for i in 0..<count {
            guard let item = ct_value_item(handle, i) else {
                items.forEach(ct_value_free)
                throw TorchError.last()
            }
            items.append(item)
        }
        return items
    }
}
