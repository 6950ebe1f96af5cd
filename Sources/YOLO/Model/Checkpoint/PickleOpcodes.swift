/// The opcodes, as Python's `pickle` module defines them; each builds values and never calls anything.
extension PickleMachine {
    /// Runs one opcode; returns the result when it is STOP. Each family has its own function: one switch over
    /// every opcode makes a stack frame that debug builds clear on every call, which tripled the reading time.
    mutating func execute(_ opcode: UInt8) throws -> PickleNode? {
        switch opcode {
        case 0x2E: return try pop()  // STOP
        case 0x80, 0x95, 0x28, 0x30, 0x31, 0x32: try control(opcode)
        case 0x4E, 0x88, 0x89, 0x4B, 0x4D, 0x4A, 0x8A, 0x8B, 0x47, 0x49, 0x4C, 0x46:
            let value = try scalar(opcode)
            try push(.leaf(value))
        case 0x58, 0x8C, 0x8D, 0x54, 0x55, 0x42, 0x43, 0x8E, 0x96:
            let value = try stringOrBytes(opcode)
            try push(.leaf(value))
        case 0x29, 0x85, 0x86, 0x87, 0x74, 0x5D, 0x6C, 0x7D, 0x64, 0x8F, 0x91:
            let node = try newContainer(opcode)
            try push(node)
        case 0x61, 0x65, 0x90, 0x73, 0x75: try fillContainer(opcode)
        case 0x71, 0x72, 0x94, 0x70, 0x68, 0x6A, 0x67: try memoOpcode(opcode)
        case 0x63, 0x93, 0x52, 0x81, 0x62, 0x51, 0x50: try callOpcode(opcode)
        default:
            let name = Self.unsupportedNames[opcode].map { " (\($0))" } ?? ""
            throw CheckpointFailure("pickle: unsupported opcode \(hex(opcode))\(name) at offset \(opcodeOffset)")
        }
        return nil
    }

    private mutating func control(_ opcode: UInt8) throws {
        switch opcode {
        case 0x80:  // PROTO
            let version = try reader.byte()
            guard version <= 5 else { throw fail("unknown pickle protocol \(version)") }
        case 0x95: _ = try reader.uint(8)  // FRAME: a read-ahead hint; the opcodes follow inline
        case 0x28: try pushMark()  // MARK
        case 0x30:  // POP: a value, or the MARK on top when there is none above it
            if stack.count > frameStart { stack.removeLast() } else { _ = try popMark() }
        case 0x31: _ = try popMark()  // POP_MARK
        default: try push(top())  // DUP
        }
    }

    private mutating func scalar(_ opcode: UInt8) throws -> PickleValue {
        switch opcode {
        case 0x4E: return .none
        case 0x88: return .bool(true)
        case 0x89: return .bool(false)
        case 0x4B: return .int(Int(try reader.byte()))  // BININT1
        case 0x4D: return .int(Int(try reader.uint(2)))  // BININT2
        case 0x4A: return .int(Int(Int32(truncatingIfNeeded: try reader.uint(4))))  // BININT
        case 0x8A: return .int(try littleEndianInt(reader.take(Int(reader.byte()))))  // LONG1
        case 0x8B: return .int(try littleEndianInt(reader.take(reader.length(4))))  // LONG4
        case 0x47: return .double(Double(bitPattern: try bigEndian(reader.take(8))))  // BINFLOAT
        case 0x49: return try textInt(try textLine())  // INT
        case 0x4C: return try textInt(String(try textLine().trimmingSuffix("L")))  // LONG
        default:  // FLOAT
            guard let value = Double(try textLine()) else { throw fail("FLOAT argument is not a number") }
            return .double(value)
        }
    }

    private mutating func stringOrBytes(_ opcode: UInt8) throws -> PickleValue {
        switch opcode {
        case 0x58, 0x54: return .string(try text(reader.length(4)))  // BINUNICODE, BINSTRING (Python 2 str)
        case 0x8C, 0x55: return .string(try text(Int(reader.byte())))  // SHORT_BINUNICODE, SHORT_BINSTRING
        case 0x8D: return .string(try text(reader.length(8)))  // BINUNICODE8
        case 0x42: return .bytes(Array(try reader.take(reader.length(4))))  // BINBYTES
        case 0x43: return .bytes(Array(try reader.take(Int(reader.byte()))))  // SHORT_BINBYTES
        default: return .bytes(Array(try reader.take(reader.length(8))))  // BINBYTES8, BYTEARRAY8
        }
    }

    private mutating func newContainer(_ opcode: UInt8) throws -> PickleNode {
        switch opcode {
        case 0x29: return try tuple([])  // EMPTY_TUPLE
        case 0x85: return try tuple([try pop()])  // TUPLE1
        case 0x86:  // TUPLE2
            let b = try pop(), a = try pop()
            return try tuple([a, b])
        case 0x87:  // TUPLE3
            let c = try pop(), b = try pop(), a = try pop()
            return try tuple([a, b, c])
        case 0x74: return try tuple(try popMark())  // TUPLE
        case 0x5D: return .list(graph.newList())  // EMPTY_LIST
        case 0x6C:  // LIST
            let list = graph.newList()
            list.items = try popMark()
            return .list(list)
        case 0x7D: return .dict(graph.newDict())  // EMPTY_DICT
        case 0x64:  // DICT
            let dict = graph.newDict()
            dict.entries = try popPairs()
            return .dict(dict)
        case 0x8F: return .object(graph.newObject(callable: .leaf(.global(module: "builtins", name: "set")), args: []))
        default:  // FROZENSET
            let set = graph.newObject(callable: .leaf(.global(module: "builtins", name: "frozenset")), args: [])
            set.listItems = try popMark()
            return .object(set)
        }
    }

    private mutating func fillContainer(_ opcode: UInt8) throws {
        switch opcode {
        case 0x61: try append([try pop()])  // APPEND
        case 0x65, 0x90: try append(try popMark())  // APPENDS, ADDITEMS
        case 0x73:  // SETITEM
            let value = try pop(), key = try pop()
            try setItems([(key, value)])
        default: try setItems(try popPairs())  // SETITEMS
        }
    }

    private mutating func memoOpcode(_ opcode: UInt8) throws {
        switch opcode {
        case 0x71: try memoize(UInt64(try reader.byte()))  // BINPUT
        case 0x72: try memoize(try reader.uint(4))  // LONG_BINPUT
        case 0x94: try memoize(UInt64(memo.count + sparseMemo.count))  // MEMOIZE
        case 0x70: try memoize(try textIndex())  // PUT
        case 0x68: try recall(UInt64(try reader.byte()))  // BINGET
        case 0x6A: try recall(try reader.uint(4))  // LONG_BINGET
        default: try recall(try textIndex())  // GET
        }
    }

    /// Classes, calls and persistent ids: recorded, never run.
    private mutating func callOpcode(_ opcode: UInt8) throws {
        switch opcode {
        case 0x63:  // GLOBAL
            let module = try textLine(), name = try textLine()
            try push(.leaf(.global(module: module, name: name)))
        case 0x93:  // STACK_GLOBAL
            guard case .leaf(.string(let name)) = try pop(), case .leaf(.string(let module)) = try pop() else {
                throw fail("STACK_GLOBAL needs two strings")
            }
            try push(.leaf(.global(module: module, name: name)))
        case 0x52, 0x81:  // REDUCE, NEWOBJ: callable(*args) and cls.__new__(cls, *args)
            guard case .tuple(let args, _) = try pop() else { throw fail("REDUCE/NEWOBJ arguments are not a tuple") }
            let callable = try pop()
            try push(.object(graph.newObject(callable: callable, args: args)))
        case 0x62:  // BUILD
            let state = try pop()
            guard case .object(let object) = try top() else { throw fail("BUILD on a value that is not an object") }
            object.state = state
        case 0x51: try push(persistent(try pop()))  // BINPERSID
        default: try push(persistent(.leaf(.string(try textLine()))))  // PERSID
        }
    }

    /// Opcodes that exist but that this reader refuses: they need Python's extension registry, out-of-band
    /// buffers, keyword arguments to constructors, or protocol 0's escaped strings and class instantiation.
    static let unsupportedNames: [UInt8: String] = [
        0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x92: "NEWOBJ_EX", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
        0x53: "STRING", 0x56: "UNICODE", 0x69: "INST", 0x6F: "OBJ",
    ]

    // MARK: Container updates

    /// APPEND(S) to a list, or ADDITEMS to a set / appends to another object (kept as its list items).
    private mutating func append(_ items: [PickleNode]) throws {
        switch try top() {
        case .list(let list): list.items += items
        case .object(let object): object.listItems += items
        default: throw fail("APPEND to a value that is not a list")
        }
    }

    /// SETITEM(S) on a dict, or on an object such as an OrderedDict (kept as its dict items).
    private mutating func setItems(_ pairs: [(PickleNode, PickleNode)]) throws {
        switch try top() {
        case .dict(let dict): dict.entries += pairs
        case .object(let object): object.dictItems += pairs
        default: throw fail("SETITEM on a value that is not a dict")
        }
    }

    // MARK: Argument decoding

    /// A string of `count` bytes; invalid UTF-8 is replaced rather than refused, as it is only ever displayed.
    private mutating func text(_ count: Int) throws -> String {
        String(decoding: try reader.take(count), as: UTF8.self)
    }

    private mutating func textLine() throws -> String { String(decoding: try reader.line(), as: UTF8.self) }

    /// INT's decimal argument; protocol 0 spells False and True as "00" and "01".
    private func textInt(_ line: String) throws -> PickleValue {
        if line == "00" || line == "01" { return .bool(line == "01") }
        guard let value = Int(line) else { throw fail("integer argument '\(line.prefix(40))' does not fit in 64 bits") }
        return .int(value)
    }

    private mutating func textIndex() throws -> UInt64 {
        guard let value = UInt64(try textLine()) else { throw fail("memo index is not a number") }
        return value
    }

    /// A little-endian two's-complement integer (LONG1, LONG4), which must fit in 64 bits.
    private func littleEndianInt(_ bytes: ArraySlice<UInt8>) throws -> Int {
        guard bytes.count <= 8 else { throw fail("integer of \(bytes.count) bytes does not fit in 64 bits") }
        var value: UInt64 = 0
        for (shift, byte) in bytes.enumerated() { value |= UInt64(byte) << UInt64(8 * shift) }
        if let last = bytes.last, last & 0x80 != 0, bytes.count < 8 {
            value |= UInt64.max << UInt64(8 * bytes.count)  // sign-extend
        }
        return Int(bitPattern: UInt(value))
    }

    private func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return "0x" + (digits.count < 2 ? "0" : "") + digits
    }

    private func bigEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> Substring {
        hasSuffix(suffix) ? dropLast(suffix.count) : Substring(self)
    }
}
