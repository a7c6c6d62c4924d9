/// One 128-byte SHA-512 input block, kept inline.
@usableFromInline
typealias SHA512Block = (
    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64
)

/// The incremental SHA-512 engine shared by ``SHA512`` and ``SHA384``: chaining state,
/// a partial block, and the message length.
@usableFromInline
struct SHA512Engine: Sendable {
    @usableFromInline var state: SHA512State
    @usableFromInline var buffer: SHA512Block = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    /// Bytes waiting in `buffer`, always less than 128 between calls.
    @usableFromInline var buffered: Int = 0
    /// Total message bytes absorbed so far.
    @usableFromInline var length: UInt64 = 0

    @inlinable
    init(state: SHA512State) {
        self.state = state
    }

    /// Absorbs `input`: completes a partial block, compresses whole blocks straight from
    /// the caller's memory, and keeps the tail.
    @usableFromInline
    mutating func update(_ input: UnsafeRawBufferPointer) {
        guard var source = input.baseAddress, input.count > 0 else { return }
        var remaining = input.count
        length &+= UInt64(truncatingIfNeeded: remaining)
        if buffered > 0 {
            let take = Swift.min(128 - buffered, remaining)
            Self.append(source, count: take, to: &buffer, at: buffered)
            buffered += take
            source += take
            remaining -= take
            if buffered < 128 { return }
            Self.compressBuffer(&state, &buffer)
            buffered = 0
        }
        let blocks = remaining >> 7
        if blocks > 0 {
            state.compress(source, blockCount: blocks)
            source += blocks << 7
            remaining &= 127
        }
        if remaining > 0 {
            Self.append(source, count: remaining, to: &buffer, at: 0)
            buffered = remaining
        }
    }

    /// Applies the final padding (FIPS 180-4 section 5.1.2) and returns the chaining state.
    @usableFromInline
    func finalState() -> SHA512State {
        var state = self.state
        var buffer = self.buffer
        let buffered = self.buffered
        let bitLengthHigh = (length >> 61).bigEndian
        let bitLengthLow = (length << 3).bigEndian
        withUnsafeMutableBytes(of: &buffer) { block in
            let base = block.baseAddress!
            base.storeBytes(of: 0x80, toByteOffset: buffered, as: UInt8.self)
            var used = buffered + 1
            if used > 112 {
                (base + used).initializeMemory(as: UInt8.self, repeating: 0, count: 128 - used)
                state.compress(base, blockCount: 1)
                used = 0
            }
            (base + used).initializeMemory(as: UInt8.self, repeating: 0, count: 112 - used)
            base.storeBytes(of: bitLengthHigh, toByteOffset: 112, as: UInt64.self)
            base.storeBytes(of: bitLengthLow, toByteOffset: 120, as: UInt64.self)
            state.compress(base, blockCount: 1)
        }
        return state
    }

    @inline(__always)
    static func append(_ source: UnsafeRawPointer, count: Int, to buffer: inout SHA512Block, at offset: Int) {
        withUnsafeMutableBytes(of: &buffer) { block in
            (block.baseAddress! + offset).copyMemory(from: source, byteCount: count)
        }
    }

    @inline(__always)
    static func compressBuffer(_ state: inout SHA512State, _ buffer: inout SHA512Block) {
        withUnsafeBytes(of: &buffer) { block in
            state.compress(block.baseAddress!, blockCount: 1)
        }
    }
}
