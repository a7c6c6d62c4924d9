/// A `TextOutputStream` into `capacity` bytes reserved at `start` (in a ``JSONBuffer``); text
/// that does not fit is not written but noted in `overflowed` (a `Double`'s text is at most
/// 24 bytes).
struct ASCIIWriter: TextOutputStream {
    /// The bytes the writer may fill.
    static let capacity = 32
    let start: UnsafeMutableRawPointer
    /// The bytes written.
    var count = 0
    var overflowed = false

    mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// What `Double.write(to:)` calls with its digits.
    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        append(UnsafeRawBufferPointer(buffer))
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        guard !overflowed, count + bytes.count <= Self.capacity else {
            overflowed = true
            return
        }
        (start + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }
}
