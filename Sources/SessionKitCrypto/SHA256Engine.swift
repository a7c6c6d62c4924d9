/// One 64-byte SHA-256 input block, kept inline.
@usableFromInline
typealias SHA256Block = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

/// The incremental SHA-256 engine behind ``SHA256``: chaining state,
/// a partial block, and the message length.
@usableFromInline
struct SHA256Engine: Sendable {
    @usableFromInline var state: SHA256State
    @usableFromInline var buffer: SHA256Block = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Bytes waiting in `buffer`, always less than 64 between calls.
    @usableFromInline var buffered: Int = 0
    /// Total message bytes absorbed so far.
    @usableFromInline var length: UInt64 = 0

    @inlinable
    init(state: SHA256State) {
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
            let take = Swift.min(64 - buffered, remaining)
            Self.append(source, count: take, to: &buffer, at: buffered)
            buffered += take
            source += take
            remaining -= take
            if buffered < 64 { return }
            Self.compressBuffer(&state, &buffer)
            buffered = 0
        }
        let blocks = remaining >> 6
        if blocks > 0 {
            state.compress(source, blockCount: blocks)
            source += blocks << 6
            remaining &= 63
        }
        if remaining > 0 {
            Self.append(source, count: remaining, to: &buffer, at: 0)
            buffered = remaining
        }
    }

    /// Applies the final padding (FIPS 180-4 section 5.1.2) and returns the chaining state.
    @usableFromInline
    func finalState() -> SHA256State {
        var state = self.state
        var buffer = self.buffer
        let buffered = self.buffered
        let bitLength = (length << 3).bigEndian
        withUnsafeMutableBytes(of: &buffer) { block in
            let base = block.baseAddress!
            base.storeBytes(of: 0x80, toByteOffset: buffered, as: UInt8.self)
            var used = buffered + 1
            if used > 56 {
                (base + used).initializeMemory(as: UInt8.self, repeating: 0, count: 64 - used)
                state.compress(base, blockCount: 1)
                used = 0
            }
            (base + used).initializeMemory(as: UInt8.self, repeating: 0, count: 56 - used)
            base.storeBytes(of: bitLength, toByteOffset: 56, as: UInt64.self)
            state.compress(base, blockCount: 1)
        }
        return state
    }

    @inline(__always)
    static func append(_ source: UnsafeRawPointer, count: Int, to buffer: inout SHA256Block, at offset: Int) {
        withUnsafeMutableBytes(of: &buffer) { block in
            (block.baseAddress! + offset).copyMemory(from: source, byteCount: count)
        }
    }

    @inline(__always)
    static func compressBuffer(_ state: inout SHA256State, _ buffer: inout SHA256Block) {
        withUnsafeBytes(of: &buffer) { block in
            state.compress(block.baseAddress!, blockCount: 1)
        }
    }
}
