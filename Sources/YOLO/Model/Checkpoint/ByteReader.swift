/// Reads a byte buffer front to back; every read checks what is left and throws instead of running past the end.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw truncated(needing: 1) }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The next `count` bytes.
    mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw truncated(needing: count) }
        defer { offset += count }
        return bytes[offset ..< offset + count]
    }

    /// A little-endian unsigned integer of `width` bytes (at most 8).
    mutating func uint(_ width: Int) throws -> UInt64 {
        guard width <= remaining else { throw truncated(needing: width) }
        var value: UInt64 = 0
        var i = width
        while i > 0 {  // a plain loop: this runs for most opcodes, and debug builds are slow with iterators
            i -= 1
            value = value << 8 | UInt64(bytes[offset + i])
        }
        offset += width
        return value
    }

    /// A length field of `width` bytes, checked against the bytes that are left.
    mutating func length(_ width: Int) throws -> Int {
        let value = try uint(width)
        guard value <= UInt64(remaining) else { throw truncated(needing: value) }
        return Int(value)
    }

    /// The bytes up to the next newline, which is consumed but not returned.
    mutating func line() throws -> ArraySlice<UInt8> {
        guard let end = bytes[offset...].firstIndex(of: 0x0A) else {
            throw CheckpointFailure("pickle: a text argument at offset \(offset) has no end of line")
        }
        defer { offset = end + 1 }
        return bytes[offset ..< end]
    }

    private func truncated<N: BinaryInteger>(needing count: N) -> CheckpointFailure {
        CheckpointFailure("pickle truncated: \(count) bytes needed at offset \(offset), \(remaining) left")
    }
}
