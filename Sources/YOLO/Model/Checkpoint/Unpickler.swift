/// Bounds that keep a hostile pickle from exhausting memory or the call stack.
struct PickleLimits {
    var maxInputBytes = 1 << 30
    /// Values on the stack (and open MARKs), and memo entries.
    var maxStack = 1 << 20
    var maxMemo = 1 << 22
    /// How deep values may nest; also bounds the recursion of everything that walks a `PickleValue`.
    var maxDepth = 200
    /// Size of the frozen tree, per input byte (shared values are copied once per reference).
    var nodesPerByte = 8
}

/// Reads a pickle (protocols 0–5, the opcodes PyTorch and Ultralytics checkpoints use) into a `PickleValue`
/// tree. It imports nothing and calls nothing: a class or function is kept as its name.
enum Unpickler {
    static func unpickle(_ bytes: [UInt8], limits: PickleLimits = PickleLimits()) throws -> PickleValue {
        guard bytes.count <= limits.maxInputBytes else {
            throw CheckpointFailure("pickle of \(bytes.count) bytes is larger than the \(limits.maxInputBytes) allowed")
        }
        let graph = PickleGraph(
            maxDepth: limits.maxDepth, maxNodes: max(1 << 16, bytes.count.multipliedReportingOverflow(
                by: limits.nodesPerByte).partialValue))
        defer { graph.release() }
        var machine = PickleMachine(reader: ByteReader(bytes), graph: graph, limits: limits)
        return try graph.freeze(machine.run())
    }
}

/// The pickle virtual machine: a value stack with MARK positions, and a memo.
struct PickleMachine {
    var reader: ByteReader
    let graph: PickleGraph
    let limits: PickleLimits
    var stack: [PickleNode] = []
    var marks: [Int] = []
    /// Pickles number their memo entries 0, 1, 2, ...: those live in an array, any others in a dictionary.
    var memo: [PickleNode] = []
    var sparseMemo: [Int: PickleNode] = [:]
    /// Where the opcode being run starts, for error messages.
    var opcodeOffset = 0

    init(reader: ByteReader, graph: PickleGraph, limits: PickleLimits) {
        self.reader = reader
        self.graph = graph
        self.limits = limits
    }

    /// Runs opcodes until STOP and returns the value it pops.
    mutating func run() throws -> PickleNode {
        while true {
            opcodeOffset = reader.offset
            guard reader.remaining > 0 else {
                throw CheckpointFailure("pickle truncated: it ends at offset \(opcodeOffset) without a STOP opcode")
            }
            let opcode = try reader.byte()
            if let result = try execute(opcode) { return result }
        }
    }

    func fail(_ what: String) -> CheckpointFailure {
        CheckpointFailure("pickle: \(what) at offset \(opcodeOffset)")
    }

    // MARK: Stack

    /// The stack index where the values above the innermost MARK begin.
    var frameStart: Int { marks.last ?? 0 }

    mutating func push(_ node: PickleNode) throws {
        guard stack.count < limits.maxStack else { throw fail("stack grows beyond \(limits.maxStack) values") }
        stack.append(node)
    }

    mutating func pop() throws -> PickleNode {
        guard stack.count > frameStart else { throw fail("stack underflow") }
        return stack.removeLast()
    }

    func top() throws -> PickleNode {
        guard stack.count > frameStart, let node = stack.last else { throw fail("stack underflow") }
        return node
    }

    mutating func pushMark() throws {
        guard marks.count < limits.maxStack else { throw fail("more than \(limits.maxStack) open MARKs") }
        marks.append(stack.count)
    }

    /// The values pushed since the innermost MARK, which is removed with them.
    mutating func popMark() throws -> [PickleNode] {
        guard let start = marks.popLast(), start <= stack.count else { throw fail("no MARK to pop") }
        let items = Array(stack[start...])
        stack.removeSubrange(start...)
        return items
    }

    mutating func popPairs() throws -> [(PickleNode, PickleNode)] {
        let items = try popMark()
        guard items.count % 2 == 0 else { throw fail("odd number of values for dict items") }
        var pairs: [(PickleNode, PickleNode)] = []
        pairs.reserveCapacity(items.count / 2)
        var i = 0
        while i < items.count {
            pairs.append((items[i], items[i + 1]))
            i += 2
        }
        return pairs
    }

    func tuple(_ items: [PickleNode]) throws -> PickleNode {
        var depth = 1
        for item in items where item.chainDepth >= depth { depth = item.chainDepth + 1 }
        guard depth <= limits.maxDepth else { throw fail("tuples nest deeper than \(limits.maxDepth) levels") }
        return .tuple(items, depth: depth)
    }

    func persistent(_ id: PickleNode) throws -> PickleNode {
        guard id.chainDepth < limits.maxDepth else { throw fail("persistent ids nest too deeply") }
        return .persistent(id, depth: id.chainDepth + 1)
    }

    // MARK: Memo

    mutating func memoize(_ key: UInt64) throws {
        let node = try top()
        if key < UInt64(memo.count) { return memo[Int(key)] = node }
        guard memo.count + sparseMemo.count < limits.maxMemo else {
            throw fail("memo grows beyond \(limits.maxMemo) entries")
        }
        if key == UInt64(memo.count) { return memo.append(node) }
        guard key < UInt64(Int.max) else { throw fail("memo key \(key) out of range") }
        sparseMemo[Int(key)] = node
    }

    mutating func recall(_ key: UInt64) throws {
        if key < UInt64(memo.count) { return try push(memo[Int(key)]) }
        guard key < UInt64(Int.max), let node = sparseMemo[Int(key)] else { throw fail("memo has no entry \(key)") }
        try push(node)
    }
}
