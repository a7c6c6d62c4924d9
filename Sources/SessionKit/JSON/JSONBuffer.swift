/// A growable byte buffer for writing JSON and cookie values without the per-byte
/// uniqueness and capacity checks of `[UInt8].append`.
///
/// Writers call ``reserve(_:)`` once for the most bytes a step can produce, then store with
/// the unchecked `put` methods. The memory is freed when the buffer goes away.
struct JSONBuffer: ~Copyable {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private(set) var capacity: Int
    /// False while the bytes are in the caller's scratch memory.
    private var ownsMemory = true

    init(capacity: Int) {
        self.capacity = Swift.max(capacity, 16)
        base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 8)
    }

    /// A buffer that starts in `scratch` (memory the caller owns and keeps alive for the
    /// buffer's lifetime, such as a stack allocation) and moves to the heap only if it
    /// outgrows it.
    init(scratch: UnsafeMutableRawBufferPointer) {
        precondition(scratch.count >= 16, "scratch space for a JSONBuffer must be at least 16 bytes")
        base = scratch.baseAddress!
        capacity = scratch.count
        ownsMemory = false
    }

    /// Calls `body` with an empty buffer that starts in `scratchBytes` bytes on the stack.
    static func withScratch<R: ~Copyable, E: Error>(
        _ scratchBytes: Int, _ body: (inout JSONBuffer) throws(E) -> R
    ) throws(E) -> R {
        try withUnsafeTemporaryAllocation(byteCount: scratchBytes, alignment: 8) { (scratch) throws(E) -> R in
            var buffer = JSONBuffer(scratch: scratch)
            return try body(&buffer)
        }
    }

    deinit { if ownsMemory { base.deallocate() } }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if capacity &- count < extra { grow(extra) }
    }

    @inline(never)
    mutating func grow(_ extra: Int) {
        let needed = count + extra
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 8)
        newBase.copyMemory(from: base, byteCount: count)
        if ownsMemory { base.deallocate() }
        base = newBase
        capacity = newCapacity
        ownsMemory = true
    }

    /// Appends one byte; room must have been reserved.
    @inline(__always)
    mutating func put(_ byte: UInt8) {
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    /// Appends two bytes; room must have been reserved.
    @inline(__always)
    mutating func put(_ first: UInt8, _ second: UInt8) {
        base.storeBytes(of: first, toByteOffset: count, as: UInt8.self)
        base.storeBytes(of: second, toByteOffset: count &+ 1, as: UInt8.self)
        count &+= 2
    }

    /// Appends the bytes of `bytes`; room must have been reserved.
    @inline(__always)
    mutating func put(_ bytes: UnsafeRawBufferPointer) {
        if let source = bytes.baseAddress {
            (base + count).copyMemory(from: source, byteCount: bytes.count)
            count &+= bytes.count
        }
    }

    /// Appends the low `length` bytes of `word` in little-endian order (at most 8); room for
    /// 8 bytes must have been reserved.
    @inline(__always)
    mutating func put(word: UInt64, length: Int) {
        base.storeBytes(of: word.littleEndian, toByteOffset: count, as: UInt64.self)
        count &+= length
    }

    /// Reserves `extra` bytes, lets `body` write up to that many at the end (it gets their
    /// address) and keeps the number it returns.
    @inline(__always)
    mutating func write(reserving extra: Int, _ body: (UnsafeMutableRawPointer) -> Int) {
        reserve(extra)
        count &+= body(base + count)
    }

    /// Appends `byteCount` zero bytes.
    mutating func appendZeros(_ byteCount: Int) {
        reserve(byteCount)
        (base + count).initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        count += byteCount
    }

    /// Appends the bytes of `bytes`.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count)
        put(bytes)
    }

    /// Appends the UTF-8 of a literal.
    @inline(__always)
    mutating func append(_ literal: StaticString) {
        let length = literal.utf8CodeUnitCount
        reserve(length)
        (base + count).copyMemory(from: literal.utf8Start, byteCount: length)
        count &+= length
    }

    /// The bytes written so far.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// The bytes written so far, writable (to fill in a reserved header).
    var mutableBytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: count) }

    /// The bytes written so far, copied into an array.
    var array: [UInt8] { Self.array(bytes) }

    /// `bytes` copied into an array.
    ///
    /// (`reserveCapacity` then `append` are specialized here; `[UInt8](repeating:count:)`
    /// and `init(unsafeUninitializedCapacity:)` look up the storage type at run time on
    /// every call.)
    static func array(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var array: [UInt8] = []
        array.reserveCapacity(bytes.count)
        array.append(contentsOf: bytes)
        return array
    }
}
