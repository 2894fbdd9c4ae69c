/// Binary form of a stored document (its full source, so the index can always be rebuilt and a
/// shard streamed to another node). Layout, little-endian:
/// `version:u8 count:u16 { nameLen:u16 name tag:u8 payload }*`.
public enum DocumentCodec {
    static let version: UInt8 = 1

    enum Tag: UInt8 {
        case text = 1, int, uint, double, bool, date, bytes, vector
    }

    public struct CorruptDocument: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { "corrupt stored document: \(reason)" }
    }

    public static func encode(_ fields: [(name: String, value: FieldValue)]) -> [UInt8] {
        var out: [UInt8] = [version]
        out.reserveCapacity(64)
        append(UInt16(fields.count), to: &out)
        for (name, value) in fields {
            let nameBytes = Array(name.utf8)
            append(UInt16(nameBytes.count), to: &out)
            out += nameBytes
            switch value {
            case .text(let s):
                out.append(Tag.text.rawValue)
                let bytes = Array(s.utf8)
                append(UInt32(bytes.count), to: &out)
                out += bytes
            case .int(let i):
                out.append(Tag.int.rawValue)
                append(UInt64(bitPattern: i), to: &out)
            case .uint(let u):
                out.append(Tag.uint.rawValue)
                append(u, to: &out)
            case .double(let d):
                out.append(Tag.double.rawValue)
                append(d.bitPattern, to: &out)
            case .bool(let b):
                out.append(Tag.bool.rawValue)
                out.append(b ? 1 : 0)
            case .date(let micros):
                out.append(Tag.date.rawValue)
                append(UInt64(bitPattern: micros), to: &out)
            case .bytes(let b):
                out.append(Tag.bytes.rawValue)
                append(UInt32(b.count), to: &out)
                out += b
            case .vector(let v):
                out.append(Tag.vector.rawValue)
                append(UInt32(v.count), to: &out)
                for f in v { append(f.bitPattern, to: &out) }
            }
        }
        return out
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> [(name: String, value: FieldValue)] {
        var reader = Reader(bytes: bytes)
        let v: UInt8 = try reader.read()
        guard v == version else { throw CorruptDocument(reason: "unknown version \(v)") }
        let count: UInt16 = try reader.read()
        var fields: [(name: String, value: FieldValue)] = []
        fields.reserveCapacity(Int(count))
        for _ in 0..<count {
            let nameLength: UInt16 = try reader.read()
            let name = try reader.string(Int(nameLength))
            let rawTag: UInt8 = try reader.read()
            guard let tag = Tag(rawValue: rawTag) else { throw CorruptDocument(reason: "unknown tag \(rawTag)") }
            let value: FieldValue
            switch tag {
            case .text:
                let n: UInt32 = try reader.read()
                value = .text(try reader.string(Int(n)))
            case .int: value = .int(Int64(bitPattern: try reader.read()))
            case .uint: value = .uint(try reader.read())
            case .double: value = .double(Double(bitPattern: try reader.read()))
            case .bool:
                let b: UInt8 = try reader.read()
                value = .bool(b != 0)
            case .date: value = .date(Int64(bitPattern: try reader.read()))
            case .bytes:
                let n: UInt32 = try reader.read()
                value = .bytes(try reader.bytes(Int(n)))
            case .vector:
                let n: UInt32 = try reader.read()
                guard Int(n) * 4 <= reader.remaining else { throw CorruptDocument(reason: "vector overruns the record") }
                var v: [Float] = []
                v.reserveCapacity(Int(n))
                for _ in 0..<n {
                    let bits: UInt32 = try reader.read()
                    v.append(Float(bitPattern: bits))
                }
                value = .vector(v)
            }
            fields.append((name, value))
        }
        return fields
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        var remaining: Int { bytes.count - offset }

        mutating func read<T: FixedWidthInteger>() throws -> T {
            let size = MemoryLayout<T>.size
            guard offset + size <= bytes.count else { throw CorruptDocument(reason: "truncated at byte \(offset)") }
            let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
            offset += size
            return value
        }

        mutating func bytes(_ count: Int) throws -> [UInt8] {
            guard count <= remaining else { throw CorruptDocument(reason: "field overruns the record") }
            let slice = Array(bytes[offset..<(offset + count)])
            offset += count
            return slice
        }

        mutating func string(_ count: Int) throws -> String {
            String(decoding: try bytes(count), as: UTF8.self)
        }
    }
}
