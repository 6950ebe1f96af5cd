/// Checks a zip's directory before ZIPFoundation reads it. ZIPFoundation trusts the 64-bit offsets and sizes of
/// ZIP64 records: it converts them to `off_t` and adds to them unchecked, which traps when one lies beyond 2^63.
/// This walks the same records first and refuses any offset or size larger than the file itself.
enum ZipPreflight {
    static let endSignature: UInt32 = 0x0605_4B50
    static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    static let zip64RecordSignature: UInt32 = 0x0606_4B50
    static let directorySignature: UInt32 = 0x0201_4B50

    /// `read(offset, count)` returns up to `count` bytes of the file from `offset` (fewer at its end).
    /// Throws a reason (to follow "is not a zip archive: ") when the archive cannot be read safely.
    static func check(length: Int, read: (Int, Int) throws -> [UInt8]) throws {
        guard length >= 22 else { throw CheckpointFailure("\(length) bytes is too short for a zip") }
        // The end record sits in the last 22 bytes plus a comment of up to 64 KiB; ZIPFoundation scans from the
        // end backwards too, so it finds the same record.
        let tailStart = max(0, length - 22 - 0xFFFF)
        let tail = try read(tailStart, length - tailStart)
        guard let endIndex = stride(from: tail.count - 22, through: 0, by: -1).first(where: {
            le32(tail, $0) == endSignature
        }) else { throw CheckpointFailure("no end-of-central-directory record") }
        let endOffset = tailStart + endIndex
        var entryCount = UInt64(le16(tail, endIndex + 10))
        var directoryOffset = UInt64(le32(tail, endIndex + 16))

        // ZIPFoundation reads a ZIP64 record at the fixed place before the locator, and uses its values.
        if endOffset > 20 + 56 {
            let zip64 = try read(endOffset - 20 - 56, 56 + 20)
            if zip64.count == 76, le32(zip64, 56) == zip64LocatorSignature, le32(zip64, 0) == zip64RecordSignature {
                entryCount = le64(zip64, 32)
                directoryOffset = le64(zip64, 48)
                try checkBound(le64(zip64, 40), length, "ZIP64 central directory size")
            }
        }
        try checkBound(directoryOffset, length, "central directory offset")
        try checkDirectory(from: Int(directoryOffset), count: entryCount, length: length, read: read)
    }

    /// Walks the central directory as ZIPFoundation will (up to the first record that does not parse) and checks
    /// every ZIP64 extra field's values.
    private static func checkDirectory(
        from start: Int, count: UInt64, length: Int, read: (Int, Int) throws -> [UInt8]
    ) throws {
        var position = start
        for _ in 0 ..< min(count, UInt64(length / 46 + 1)) {
            let header = try read(position, 46)
            guard header.count == 46, le32(header, 0) == directorySignature else { return }
            let nameLength = Int(le16(header, 28)), extraLength = Int(le16(header, 30))
            let commentLength = Int(le16(header, 32))
            let extra = try read(position + 46 + nameLength, extraLength)
            try checkExtraFields(extra, length)
            position += 46 + nameLength + extraLength + commentLength
        }
    }

    /// ZIP64 extended information (header id 1) holds 8-byte sizes and offsets, then maybe a 4-byte disk number.
    private static func checkExtraFields(_ extra: [UInt8], _ length: Int) throws {
        var offset = 0
        while offset + 4 <= extra.count {
            let id = le16(extra, offset), size = Int(le16(extra, offset + 2))
            let end = min(extra.count, offset + 4 + size)
            if id == 1 {
                for valueOffset in stride(from: offset + 4, to: end - 7, by: 8) {
                    try checkBound(le64(extra, valueOffset), length, "ZIP64 size or offset")
                }
            }
            offset += 4 + size
        }
    }

    private static func checkBound(_ value: UInt64, _ length: Int, _ what: String) throws {
        guard value <= UInt64(length) else {
            throw CheckpointFailure("its \(what) (\(value)) lies beyond its end (\(length) bytes)")
        }
    }

    // Little-endian reads; callers have checked that the bytes exist.
    private static func le16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    private static func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(le16(b, i)) | UInt32(le16(b, i + 2)) << 16
    }
    private static func le64(_ b: [UInt8], _ i: Int) -> UInt64 {
        UInt64(le32(b, i)) | UInt64(le32(b, i + 4)) << 32
    }
}
