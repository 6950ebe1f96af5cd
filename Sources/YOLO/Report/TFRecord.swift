import Foundation

/// TFRecord framing, the container of TensorBoard's event files: each record is its length (UInt64, little
/// endian), the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C of the data.
public enum TFRecord {
    public static func frame(_ data: Data) -> Data {
        let length = withUnsafeBytes(of: UInt64(data.count).littleEndian) { Data($0) }
        var record = length
        record.append(littleEndian(CRC32C.masked(length)))
        record.append(data)
        record.append(littleEndian(CRC32C.masked(data)))
        return record
    }

    /// The records of `data`, each checked against both CRCs. A truncated last record (a crash while it was being
    /// written) ends the list, as TensorBoard's reader treats it; a CRC mismatch is an error.
    public static func records(in data: Data) throws -> [Data] {
        let bytes = [UInt8](data)
        var records: [Data] = [], offset = 0
        func uint32(at i: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[i + $1]) << (8 * $1) } }
        while offset + 12 <= bytes.count {
            let header = bytes[offset..<offset + 8]
            guard CRC32C.masked(header) == uint32(at: offset + 8) else {
                throw ReportError("TFRecord at byte \(offset): the length's CRC does not match")
            }
            let length = header.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let start = offset + 12
            guard length <= UInt64(bytes.count - start), start + Int(length) + 4 <= bytes.count else { break }
            let body = bytes[start..<start + Int(length)]
            guard CRC32C.masked(body) == uint32(at: start + Int(length)) else {
                throw ReportError("TFRecord at byte \(offset): the data's CRC does not match")
            }
            records.append(Data(body))
            offset = start + Int(length) + 4
        }
        return records
    }

    static func littleEndian(_ value: UInt32) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
}
