/// The layout of a session file: one header line, then the value's bytes unchanged.
///
/// ```
/// sessionkit-fs/1 ttl=3600\n{"_created":1700000000,"user":"ada"}
/// sessionkit-fs/1 ttl=never\n{...}
/// ```
///
/// The entry expires at the file's modification time plus `ttl` seconds; `never` does not
/// expire. The value may hold any bytes (newlines included): only the first line is parsed.
enum FilesystemEntryFormat {
    static let magic: [UInt8] = Array("sessionkit-fs/1 ttl=".utf8)
    static let never: [UInt8] = Array("never".utf8)
    /// The longest header a reader looks for.
    static let maximumHeaderLength = 48

    static func header(ttl: Int?) -> [UInt8] {
        var bytes = magic
        if let ttl { bytes += Array(String(ttl).utf8) } else { bytes += never }
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    static func encode(ttl: Int?, value: [UInt8]) -> [UInt8] {
        let head = header(ttl: ttl)
        var bytes = [UInt8]()
        bytes.reserveCapacity(head.count + value.count)
        bytes += head
        bytes += value
        return bytes
    }

    /// Parses the header at the start of `bytes`.
    ///
    /// - Returns: the TTL (`nil` for `never`) and the header's length including its newline,
    ///   or `nil` when the bytes do not start with a valid header.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer) -> (ttl: Int?, length: Int)? {
        guard bytes.count > magic.count else { return nil }
        for i in 0..<magic.count where bytes[i] != magic[i] { return nil }
        var i = magic.count
        let end = min(bytes.count, maximumHeaderLength)
        guard let newline = (i..<end).first(where: { bytes[$0] == UInt8(ascii: "\n") }) else { return nil }
        let field = bytes[i..<newline]
        if field.elementsEqual(never) { return (nil, newline + 1) }
        guard !field.isEmpty, field.count <= 18 else { return nil }
        var ttl = 0
        while i < newline {
            let c = bytes[i]
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            ttl = ttl * 10 + Int(c - UInt8(ascii: "0"))
            i += 1
        }
        return (ttl, newline + 1)
    }

    /// True when an entry with `ttl`, last refreshed at `modified`, has expired at `now`.
    @inline(__always)
    static func isExpired(ttl: Int?, modified: Double, now: Double) -> Bool {
        guard let ttl else { return false }
        return modified + Double(ttl) <= now
    }
}
