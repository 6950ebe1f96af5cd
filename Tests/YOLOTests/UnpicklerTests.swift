import Foundation
import Torch
import XCTest

@testable import YOLO

/// Writes small pickles opcode by opcode, for tests.
struct PickleWriter {
    var bytes: [UInt8] = [0x80, 0x02]  // PROTO 2

    mutating func op(_ codes: UInt8...) { bytes += codes }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        op(0x58)  // BINUNICODE
        bytes += withUnsafeBytes(of: UInt32(utf8.count).littleEndian, Array.init) + utf8
    }
    mutating func int(_ i: Int) {
        if (0 ..< 256).contains(i) { op(0x4B, UInt8(i)) } else {
            op(0x4A)
            bytes += withUnsafeBytes(of: Int32(i).littleEndian, Array.init)
        }
    }
    mutating func global(_ module: String, _ name: String) { op(0x63); bytes += Array("\(module)\n\(name)\n".utf8) }
    mutating func mark() { op(0x28) }
    mutating func tuple() { op(0x74) }
    mutating func stop() { op(0x2E) }

    /// `OrderedDict()` filled by `items` (which pushes keys and values) through SETITEMS.
    mutating func orderedDict(_ items: (inout PickleWriter) -> Void) {
        global("collections", "OrderedDict"); op(0x29, 0x52)
        mark(); items(&self); op(0x75)
    }

    /// An `nn.Module` as torch pickles it: `cls.__new__(cls)` (NEWOBJ), then BUILD with its `__dict__`.
    mutating func module(
        parameters: (inout PickleWriter) -> Void = { _ in }, buffers: (inout PickleWriter) -> Void = { _ in },
        nonPersistent: [String] = [], modules: (inout PickleWriter) -> Void = { _ in },
        attributes: (inout PickleWriter) -> Void = { _ in }
    ) {
        global("ultralytics.nn.tasks", "DetectionModel"); op(0x29, 0x81)
        op(0x7D); mark()
        string("_parameters"); orderedDict(parameters)
        string("_buffers"); orderedDict(buffers)
        string("_non_persistent_buffers_set"); global("builtins", "set"); op(0x5D)
        for name in nonPersistent { string(name); op(0x61) }
        op(0x85, 0x52)
        string("_modules"); orderedDict(modules)
        attributes(&self)
        op(0x75, 0x62)  // SETITEMS, BUILD
    }

    /// `_rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', count), offset, shape, strides, False,
    /// OrderedDict())`.
    mutating func tensor(storage type: String, key: String, count: Int, offset: Int, shape: [Int], strides: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        mark(); string("storage"); global("torch", type); string(key); string("cpu"); int(count); tuple()
        op(0x51)  // BINPERSID
        int(offset)
        mark(); shape.forEach { int($0) }; tuple()
        mark(); strides.forEach { int($0) }; tuple()
        op(0x89)  // False
        global("collections", "OrderedDict"); op(0x29, 0x52)  // OrderedDict()
        tuple()
        op(0x52)  // REDUCE
    }
}

/// The pickle reader on hand-written pickles: values, sharing, limits and errors.
final class UnpicklerTests: XCTestCase {
    func testScalarsStringsAndContainers() throws {
        var p = PickleWriter()
        p.mark()
        p.int(7); p.int(-5); p.int(70_000)
        p.op(0x8A, 2, 0x00, 0x80)  // LONG1 -32768
        p.op(0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0)  // BINFLOAT 1.5
        p.string("héllo"); p.op(0x88, 0x4E)  // True, None
        p.op(0x43, 2, 0xAB, 0xCD)  // SHORT_BINBYTES
        p.tuple(); p.stop()
        guard case .tuple(let items) = try Unpickler.unpickle(p.bytes) else { return XCTFail("not a tuple") }
        XCTAssertEqual(items.count, 9)
        XCTAssertEqual(items[0].int, 7)
        XCTAssertEqual(items[1].int, -5)
        XCTAssertEqual(items[2].int, 70_000)
        XCTAssertEqual(items[3].int, -32768)
        guard case .double(1.5) = items[4], case .bool(true) = items[6], items[7].isNone,
              case .bytes([0xAB, 0xCD]) = items[8]
        else {
            return XCTFail("\(items)")
        }
        XCTAssertEqual(items[5].string, "héllo")
        XCTAssertTrue(try Unpickler.unpickle([0x80, 2, 0x4E, 0x2E]).isNone)
    }

    /// A list memoized when empty and filled afterwards is seen filled by every later reference.
    func testMemoizedContainersAreSharedNotCopied() throws {
        var p = PickleWriter()
        p.op(0x5D, 0x71, 0)  // EMPTY_LIST, BINPUT 0
        p.int(1); p.op(0x61)  // APPEND
        p.op(0x68, 0, 0x86)  // BINGET 0, TUPLE2: (list, list)
        p.stop()
        let value = try Unpickler.unpickle(p.bytes)
        XCTAssertEqual(value.sequence?.count, 2)
        XCTAssertEqual(value.sequence?.last?.sequence?.first?.int, 1)
    }

    func testOrderedDictAndSetAreReadWithoutRunningThem() throws {
        var p = PickleWriter()
        p.global("collections", "OrderedDict"); p.op(0x29, 0x52)
        p.mark(); p.string("b"); p.int(2); p.string("a"); p.int(1); p.string("b"); p.int(3); p.op(0x75)  // SETITEMS
        p.stop()
        let dict = try Unpickler.unpickle(p.bytes)
        // A repeated key is kept as pickled; a lookup takes its last value, as Python's dict would.
        XCTAssertEqual(dict.dictEntries?.map { $0.0.string! }, ["b", "a", "b"])
        XCTAssertEqual(dict["b"]?.int, 3)

        var s = PickleWriter()
        s.global("__builtin__", "set"); s.op(0x5D); s.string("x"); s.op(0x61, 0x85, 0x52); s.stop()
        XCTAssertEqual(try Unpickler.unpickle(s.bytes).setElements?.compactMap(\.string), ["x"])
    }

    func testErrorsNameWhatAndWhere() throws {
        func message(_ bytes: [UInt8]) -> String {
            do {
                _ = try Unpickler.unpickle(bytes)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(message([0x80, 2, 0x82, 1, 0x2E]), "pickle: unsupported opcode 0x82 (EXT1) at offset 2")
        XCTAssertEqual(message([0x80, 2, 0xFF]), "pickle: unsupported opcode 0xFF at offset 2")
        XCTAssertTrue(message([0x80, 2, 0x2E]).contains("stack underflow at offset 2"))
        XCTAssertTrue(message([0x80, 2, 0x4E]).contains("without a STOP"))
        XCTAssertTrue(message([0x80, 2, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x41]).contains("truncated"))
        XCTAssertTrue(message([0x80, 2, 0x68, 9, 0x2E]).contains("memo has no entry 9"))
        XCTAssertTrue(message([0x80, 2, 0x8A, 9] + [UInt8](repeating: 1, count: 9) + [0x2E]).contains("64 bits"))
        XCTAssertTrue(message([0x80, 2, 0x4E, 0x4E, 0x61, 0x2E]).contains("APPEND to a value that is not a list"))
        // A list that contains itself is refused when it is turned into a tree, not followed forever.
        XCTAssertTrue(message([0x80, 2, 0x5D, 0x71, 0, 0x68, 0, 0x61, 0x2E]).contains("deeper"))
    }

    func testDeepNestingAndExpandingSharingAreBounded() throws {
        // 100,000 nested empty lists: refused by the depth limit, without deep recursion.
        let nested: [UInt8] = [0x80, 2] + [UInt8](repeating: 0x5D, count: 100_000)
            + [UInt8](repeating: 0x61, count: 99_999) + [0x2E]
        XCTAssertThrowsError(try Unpickler.unpickle(nested))
        // 100,000 nested tuples (and persistent ids): refused as they are built, so never freed recursively.
        for opcode: UInt8 in [0x85, 0x51] {
            let chain: [UInt8] = [0x80, 2, 0x4E] + [UInt8](repeating: opcode, count: 100_000) + [0x2E]
            XCTAssertThrowsError(try Unpickler.unpickle(chain)) { XCTAssertTrue("\($0)".contains("nest"), "\($0)") }
        }
        // Each tuple holds the previous one twice: 2^60 nodes once expanded, refused by the node budget.
        var p = PickleWriter()
        p.op(0x4E)
        for _ in 0 ..< 60 { p.op(0x32, 0x86) }  // DUP, TUPLE2
        p.stop()
        XCTAssertThrowsError(try Unpickler.unpickle(p.bytes)) { XCTAssertTrue("\($0)".contains("too large"), "\($0)") }
    }

    /// A transposed view with an offset: (i, j) is storage element 1 + i + 3j.
    func testStridedTensorIsCopiedInOrderAndBoundsAreChecked() throws {
        func load(strides: [Int]) throws -> ReferenceCheckpoint {
            var p = PickleWriter()
            p.op(0x7D); p.string("w")
            p.tensor(storage: "FloatStorage", key: "0", count: 6, offset: 1, shape: [2, 2], strides: strides)
            p.op(0x73); p.stop()  // SETITEM
            let storage = (0 ..< 6).map { Float($0) }.withUnsafeBytes { Data($0) }
            return try ReferenceCheckpoint.load(pickle: p.bytes, name: "strided.pt") { key, count in
                XCTAssertEqual(key, "0")
                XCTAssertEqual(count, 24)
                return storage
            }
        }
        let checkpoint = try load(strides: [1, 3])
        XCTAssertEqual(checkpoint.source, "state_dict")
        XCTAssertEqual(checkpoint.stateDict.first?.0, "w")
        XCTAssertEqual(try checkpoint.stateDict.first?.1.toArray(Float.self), [1, 4, 2, 5])
        XCTAssertThrowsError(try load(strides: [1, 4])) { error in
            XCTAssertTrue(error is CheckpointError)
            XCTAssertEqual(
                "\(error)", "strided.pt: w: a tensor of shape [2, 2] reaches element 6 of a storage of 6 elements")
        }
    }

    /// The state dict walk: parameters (None skipped), persistent buffers, then children under "name.".
    func testModuleTreeGivesStateDictNamesAndYaml() throws {
        func vector(_ p: inout PickleWriter, _ key: String) {
            p.tensor(storage: "FloatStorage", key: key, count: 2, offset: 0, shape: [2], strides: [1])
        }
        var p = PickleWriter()
        p.op(0x7D); p.mark()
        p.string("model"); p.op(0x4E)
        p.string("ema")
        p.module(
            parameters: { $0.string("w"); vector(&$0, "0") },
            buffers: { $0.string("b"); vector(&$0, "1"); $0.string("nb"); vector(&$0, "2") },
            nonPersistent: ["nb"],
            modules: {
                $0.string("child")
                $0.module(parameters: { $0.string("bias"); $0.op(0x4E); $0.string("weight"); vector(&$0, "3") })
                $0.string("gone"); $0.op(0x4E)
            },
            attributes: {
                $0.string("names"); $0.mark(); $0.string("cat"); $0.string("dog"); $0.op(0x6C)  // LIST
                $0.string("yaml"); $0.op(0x7D); $0.string("nc"); $0.int(2); $0.op(0x73)
            })
        p.string("epoch"); p.int(5)
        p.op(0x75); p.stop()
        let checkpoint = try ReferenceCheckpoint.load(pickle: p.bytes, name: "tree.pt") { _, count in
            Data(repeating: 0, count: count)
        }
        XCTAssertEqual(checkpoint.source, "ema")
        XCTAssertEqual(checkpoint.stateDict.map(\.0), ["w", "b", "child.weight"])
        XCTAssertEqual(checkpoint.bufferNames, ["b"])
        XCTAssertEqual(checkpoint.names, [0: "cat", 1: "dog"])
        XCTAssertEqual(checkpoint.yaml?["nc"], .int(2))
        XCTAssertEqual(checkpoint.metadata, ["epoch": .int(5)])

        var q = PickleWriter()
        q.op(0x7D); q.string("ema"); q.string("oops"); q.op(0x73); q.stop()
        XCTAssertThrowsError(try ReferenceCheckpoint.load(pickle: q.bytes, name: "q.pt") { _, _ in Data() }) {
            XCTAssertEqual("\($0)", "q.pt: 'ema' is a string, not a torch module")
        }
    }

    func testStorageTypesMapToDTypes() throws {
        for (type, dtype) in [("HalfStorage", DType.float16), ("BFloat16Storage", .bfloat16), ("LongStorage", .int64),
                              ("ByteStorage", .uint8), ("BoolStorage", .bool), ("DoubleStorage", .float64)] {
            var p = PickleWriter()
            p.op(0x7D); p.string("t")
            p.tensor(storage: type, key: "k", count: 3, offset: 0, shape: [3], strides: [1])
            p.op(0x73); p.stop()
            let checkpoint = try ReferenceCheckpoint.load(pickle: p.bytes, name: "t.pt") { _, count in
                Data(repeating: 0, count: count)
            }
            XCTAssertEqual(checkpoint.stateDict.first?.1.dtype, dtype, type)
            XCTAssertEqual(checkpoint.stateDict.first?.1.shape, [3], type)
        }
    }
}
