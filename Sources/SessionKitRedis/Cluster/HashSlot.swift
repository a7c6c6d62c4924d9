/// Redis Cluster's key-to-slot mapping: CRC16-XMODEM of the key (or of its hash tag) modulo 16384.
enum HashSlot {
    /// The number of slots in a Redis Cluster.
    static let count = 16384

    private static let table: [UInt16] = (0..<256).map { byte in
        var crc = UInt16(byte) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }

    /// CRC16-XMODEM (polynomial 0x1021, initial value 0, no reflection); "123456789" gives 0x31C3.
    static func crc16<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    /// The slot of `key`: when the key holds a `{...}` with at least one byte between the first
    /// `{` and the next `}`, only those bytes are hashed.
    static func slot(of key: [UInt8]) -> Int {
        if let open = key.firstIndex(of: UInt8(ascii: "{")),
           let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")),
           close > open + 1 {
            return Int(crc16(key[(open + 1)..<close])) & (count - 1)
        }
        return Int(crc16(key)) & (count - 1)
    }
}
