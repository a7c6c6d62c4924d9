/// The layout of a session file: one header line, then the value's bytes unchanged.
///
/// ```
/// sessionkit-fs/1 ttl=3600 len=36 sum=5f0e4c2a9b1d7e63 key=session:<id>\n{"_created":1700000000,"user":"ada"}
/// sessionkit-fs/1 ttl=never len=2 sum=... key=...\n{}
/// ```
///
/// - `ttl`: the entry expires at the file's modification time plus this many seconds;
///   `never` does not expire.
/// - `len`, `sum`: the value's length and a 64-bit checksum of it (not cryptographic), and
///   `key`: the key the file was written for. The store reuses the inodes of replaced files
///   for later writes, so a reader that opened a file just before it was replaced may find it
///   being rewritten; these fields let it notice and read again.
///
/// The value may hold any bytes (newlines included): only the first line is parsed.
enum FilesystemEntryFormat {
    static let magic: [UInt8] = Array("sessionkit-fs/1 ttl=".utf8)
    static let never: [UInt8] = Array("never".utf8)
    /// The longest header a reader looks for (the key is at most 200 bytes).
    static let maximumHeaderLength = 320

    struct Header: Equatable {
        var ttl: Int?
        var length: Int
        var checksum: UInt64
        var key: [UInt8]
        /// The header's size in bytes, newline included.
        var size: Int
    }

    static func header(ttl: Int?, value: [UInt8], key: [UInt8]) -> [UInt8] {
        var bytes = magic
        if let ttl { bytes += Array(String(ttl).utf8) } else { bytes += never }
        bytes += Array(" len=\(value.count) sum=".utf8)
        let sum = value.withUnsafeBytes { checksum($0) }
        let hex = String(sum, radix: 16)
        bytes += Array((String(repeating: "0", count: 16 - hex.count) + hex).utf8)
        bytes += Array(" key=".utf8)
        bytes += key
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    static func encode(ttl: Int?, value: [UInt8], key: [UInt8]) -> [UInt8] {
        let head = header(ttl: ttl, value: value, key: key)
        var bytes = [UInt8]()
        bytes.reserveCapacity(head.count + value.count)
        bytes += head
        bytes += value
        return bytes
    }

    /// Parses the header at the start of `bytes`; `nil` when they do not start with one.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer) -> Header? {
        let end = min(bytes.count, maximumHeaderLength)
        guard end > magic.count else { return nil }
        for i in 0..<magic.count where bytes[i] != magic[i] { return nil }
        guard let newline = (magic.count..<end).first(where: { bytes[$0] == UInt8(ascii: "\n") }) else { return nil }
        var i = magic.count

        func field(until terminator: UInt8) -> Range<Int>? {
            let start = i
            while i < newline && bytes[i] != terminator { i += 1 }
            guard i < newline || terminator == UInt8(ascii: "\n") else { return nil }
            return start..<i
        }
        func expect(_ text: String) -> Bool {
            for c in text.utf8 {
                guard i < newline, bytes[i] == c else { return false }
                i += 1
            }
            return true
        }
        func decimal(_ range: Range<Int>) -> Int? {
            guard !range.isEmpty, range.count <= 18 else { return nil }
            var n = 0
            for j in range {
                guard bytes[j] >= UInt8(ascii: "0"), bytes[j] <= UInt8(ascii: "9") else { return nil }
                n = n * 10 + Int(bytes[j] - UInt8(ascii: "0"))
            }
            return n
        }

        guard let ttlField = field(until: UInt8(ascii: " ")) else { return nil }
        let ttl: Int?
        if bytes[ttlField].elementsEqual(never) {
            ttl = nil
        } else {
            guard let n = decimal(ttlField) else { return nil }
            ttl = n
        }
        guard expect(" len="), let lengthField = field(until: UInt8(ascii: " ")), let length = decimal(lengthField) else { return nil }
        guard expect(" sum="), let sumField = field(until: UInt8(ascii: " ")), sumField.count == 16 else { return nil }
        var sum: UInt64 = 0
        for j in sumField {
            let c = bytes[j]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            default: return nil
            }
            sum = sum << 4 | UInt64(digit)
        }
        guard expect(" key="), let keyField = field(until: UInt8(ascii: "\n")) else { return nil }
        return Header(ttl: ttl, length: length, checksum: sum, key: Array(bytes[keyField]), size: newline + 1)
    }

    /// The header of `entry` when it is a whole entry of `key`: its header parses, names `key`,
    /// and the body that follows has the header's length and checksum. A torn or shorter body is
    /// caught by the length first; the checksum tells apart bodies of equal length.
    static func wholeEntryHeader(_ entry: UnsafeRawBufferPointer, key: [UInt8]) -> Header? {
        guard let header = parseHeader(entry), header.key == key else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: entry[header.size...])
        guard header.length == body.count, checksum(body) == header.checksum else { return nil }
        return header
    }

    /// True when an entry with `ttl`, last refreshed at `modified`, has expired at `now`.
    @inline(__always)
    static func isExpired(ttl: Int?, modified: Double, now: Double) -> Bool {
        guard let ttl else { return false }
        return modified + Double(ttl) <= now
    }

    /// A fast 64-bit checksum for telling a whole value from a torn one (not a MAC). It is checked
    /// together with the header's length (``wholeEntryHeader(_:key:)``): on its own it does not
    /// separate every pair of lengths (a one-byte body 0x01 and an empty body share a sum).
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let k: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(bytes.count)
        var i = 0
        while i + 8 <= bytes.count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            h = (h ^ word) &* k
            h ^= h >> 29
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count {
            tail |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* k
        h ^= h >> 32
        h = h &* k
        h ^= h >> 29
        return h
    }
}
