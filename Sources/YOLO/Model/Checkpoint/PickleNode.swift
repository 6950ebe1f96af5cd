/// The unpickler's working form of a value. Lists, dicts and objects are boxes because a pickle memoizes a
/// container as soon as it is created and fills it afterwards: every reference to it must see the filled one.
/// `PickleGraph.freeze` turns a node into an immutable `PickleValue` when the pickle is done.
///
/// Tuples and persistent ids hold their children directly, so they carry their nesting depth: the unpickler
/// refuses deep chains of them, which would otherwise overflow the call stack when freed (boxes stay alive in
/// `PickleGraph` until the end, so chains through them are never freed recursively).
indirect enum PickleNode {
    case leaf(PickleValue)  // none, bool, int, double, string, bytes, global
    case tuple([PickleNode], depth: Int)
    case list(ListBox)
    case dict(DictBox)
    case object(ObjectBox)
    case persistent(PickleNode, depth: Int)

    /// How many tuples and persistent ids nest directly inside one another here.
    var chainDepth: Int {
        switch self {
        case .tuple(_, let depth), .persistent(_, let depth): depth
        default: 0
        }
    }

    final class ListBox { var items: [PickleNode] = [] }
    /// A dict's entries as pickled. A pickler writes each key once; a key that comes twice (a hand-made pickle)
    /// is kept twice, and lookups take the last value, as Python's dict would.
    final class DictBox { var entries: [(PickleNode, PickleNode)] = [] }
    final class ObjectBox {
        let callable: PickleNode
        let args: [PickleNode]
        var state: PickleNode?
        var listItems: [PickleNode] = []
        var dictItems: [(PickleNode, PickleNode)] = []
        init(callable: PickleNode, args: [PickleNode]) {
            self.callable = callable
            self.args = args
        }
    }
}

/// Every box one unpickling created, so that they can be emptied at the end: a hostile pickle can make a box
/// contain itself, and emptying breaks such cycles so that nothing leaks.
final class PickleGraph {
    private var lists: [PickleNode.ListBox] = []
    private var dicts: [PickleNode.DictBox] = []
    private var objects: [PickleNode.ObjectBox] = []
    private let maxDepth: Int
    private var nodesLeft: Int

    /// `maxDepth` bounds nesting (and so recursion); `maxNodes` bounds the frozen tree's size, since a value
    /// that is shared many times (or a chain of values that each hold the previous one twice) is copied each time.
    init(maxDepth: Int, maxNodes: Int) {
        self.maxDepth = maxDepth
        self.nodesLeft = maxNodes
    }

    func newList() -> PickleNode.ListBox { remember(PickleNode.ListBox(), in: &lists) }
    func newDict() -> PickleNode.DictBox { remember(PickleNode.DictBox(), in: &dicts) }
    func newObject(callable: PickleNode, args: [PickleNode]) -> PickleNode.ObjectBox {
        remember(PickleNode.ObjectBox(callable: callable, args: args), in: &objects)
    }

    private func remember<Box>(_ box: Box, in boxes: inout [Box]) -> Box {
        boxes.append(box)
        return box
    }

    /// Empties every box (see the type's comment).
    func release() {
        for box in lists { box.items = [] }
        for box in dicts { box.entries = [] }
        for box in objects {
            box.state = nil
            box.listItems = []
            box.dictItems = []
        }
        lists = []
        dicts = []
        objects = []
    }

    func freeze(_ node: PickleNode) throws -> PickleValue { try freeze(node, depth: 0) }

    private func freeze(_ node: PickleNode, depth: Int) throws -> PickleValue {
        guard depth < maxDepth else {
            throw CheckpointFailure("pickle: values nest deeper than \(maxDepth) levels (or contain themselves)")
        }
        nodesLeft -= 1
        guard nodesLeft >= 0 else {
            throw CheckpointFailure("pickle: the value tree is too large once shared values are expanded")
        }
        switch node {
        case .leaf(let value): return value
        case .tuple(let items, _): return .tuple(try freeze(items, depth + 1))
        case .list(let box): return .list(try freeze(box.items, depth + 1))
        case .dict(let box): return .dict(try freeze(box.entries, depth + 1))
        case .persistent(let id, _): return .persistent(try freeze(id, depth: depth + 1))
        case .object(let box):
            var object = PickleObject(
                callable: try freeze(box.callable, depth: depth + 1), args: try freeze(box.args, depth + 1))
            object.state = try box.state.map { try freeze($0, depth: depth + 1) }
            object.listItems = try freeze(box.listItems, depth + 1)
            object.dictItems = try freeze(box.dictItems, depth + 1)
            return .object(object)
        }
    }

    private func freeze(_ nodes: [PickleNode], _ depth: Int) throws -> [PickleValue] {
        var values: [PickleValue] = []
        values.reserveCapacity(nodes.count)
        for node in nodes { values.append(try freeze(node, depth: depth)) }
        return values
    }

    private func freeze(_ pairs: [(PickleNode, PickleNode)], _ depth: Int) throws -> [(PickleValue, PickleValue)] {
        var values: [(PickleValue, PickleValue)] = []
        values.reserveCapacity(pairs.count)
        for (key, value) in pairs { values.append((try freeze(key, depth: depth), try freeze(value, depth: depth))) }
        return values
    }
}
