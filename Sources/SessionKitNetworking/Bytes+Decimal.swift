extension Array where Element == UInt8 {
    /// Appends `value` in decimal ASCII digits, as both wire protocols write lengths and numbers.
    @inlinable @_spi(Engine) public mutating func appendDecimal(_ value: UInt64) {
        if value < 10 {
            append(0x30 + UInt8(value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        Swift.withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[19 - count] = UInt8(rest % 10) + 0x30
                rest /= 10
                count += 1
            } while rest > 0
            append(contentsOf: raw[(20 - count)...])
        }
    }
}
