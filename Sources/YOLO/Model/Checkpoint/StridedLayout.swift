import Foundation

/// Where a tensor's elements lie in its storage: the element at index (i₀, i₁, ...) is storage element
/// `offset + Σ iₖ·strideₖ`. Construction checks every reachable element against the storage size, with
/// overflow-checked arithmetic, so that `gather` cannot read outside it.
struct StridedLayout {
    let shape: [Int]
    let strides: [Int]
    let offset: Int
    /// Number of elements.
    let count: Int
    let isContiguous: Bool

    /// A view with more elements than its storage repeats elements (a zero stride); such views are capped so a
    /// few bytes of input cannot ask for gigabytes of output.
    static let maxRepeatedElements = 1 << 20

    init(shape: [Int], strides: [Int], offset: Int, storageCount: Int) throws {
        self.shape = shape
        self.strides = strides
        self.offset = offset
        count = try Self.checkedProduct(shape)
        var contiguous = true
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            if stride != expected { contiguous = false }
            expected = expected.multipliedReportingOverflow(by: size).partialValue
        }
        isContiguous = contiguous
        guard count > 0 else { return }
        var last = offset
        for (size, stride) in zip(shape, strides) {
            let (step, overflow1) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, overflow2) = last.addingReportingOverflow(step)
            guard !overflow1, !overflow2 else { throw CheckpointFailure("a tensor's strides overflow") }
            last = sum
        }
        guard last < storageCount else {
            throw CheckpointFailure(
                "a tensor of shape \(shape) reaches element \(last) of a storage of \(storageCount) elements")
        }
        guard contiguous || count <= max(storageCount, Self.maxRepeatedElements) else {
            throw CheckpointFailure(
                "a tensor of shape \(shape) repeats its storage of \(storageCount) elements too often")
        }
    }

    private static func checkedProduct(_ values: [Int]) throws -> Int {
        if values.contains(0) { return 0 }
        return try values.reduce(1) {
            let (product, overflow) = $0.multipliedReportingOverflow(by: $1)
            guard !overflow else { throw CheckpointFailure("a tensor's shape \(values) has too many elements") }
            return product
        }
    }

    /// Calls `body` with the elements in C order: a slice of `storage` when contiguous, else a copy.
    /// `storage` must hold `storageCount` elements of `elementSize` bytes.
    func gather<R>(from storage: Data, elementSize: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { source in
            if isContiguous {
                let bytes = source[offset * elementSize ..< (offset + count) * elementSize]
                return try body(UnsafeRawBufferPointer(rebasing: bytes))
            }
            let target = UnsafeMutableRawBufferPointer.allocate(byteCount: count * elementSize, alignment: 16)
            defer { target.deallocate() }
            var index = [Int](repeating: 0, count: shape.count)
            var position = offset
            for element in 0 ..< count {
                let from = UnsafeRawBufferPointer(
                    rebasing: source[position * elementSize ..< (position + 1) * elementSize])
                UnsafeMutableRawBufferPointer(rebasing: target[element * elementSize ..< (element + 1) * elementSize])
                    .copyMemory(from: from)
                // Advance the index like an odometer, last dimension fastest.
                var d = shape.count - 1
                while d >= 0 {
                    if index[d] + 1 < shape[d] {
                        index[d] += 1
                        position += strides[d]
                        break
                    }
                    position -= strides[d] * index[d]  // back to the start of this dimension
                    index[d] = 0
                    d -= 1
                }
            }
            return try body(UnsafeRawBufferPointer(target))
        }
    }
}
