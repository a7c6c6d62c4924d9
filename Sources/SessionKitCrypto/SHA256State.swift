/// The eight 32-bit chaining words of SHA-256 (FIPS 180-4 section 6.2).
///
/// Stored as separate properties rather than an array so that a hash value lives entirely
/// inline (no heap allocation) and the optimiser keeps the words in registers.
@usableFromInline
struct SHA256State: Sendable {
    @usableFromInline var h0: UInt32
    @usableFromInline var h1: UInt32
    @usableFromInline var h2: UInt32
    @usableFromInline var h3: UInt32
    @usableFromInline var h4: UInt32
    @usableFromInline var h5: UInt32
    @usableFromInline var h6: UInt32
    @usableFromInline var h7: UInt32

    @inlinable
    init(_ h0: UInt32, _ h1: UInt32, _ h2: UInt32, _ h3: UInt32, _ h4: UInt32, _ h5: UInt32, _ h6: UInt32, _ h7: UInt32) {
        self.h0 = h0
        self.h1 = h1
        self.h2 = h2
        self.h3 = h3
        self.h4 = h4
        self.h5 = h5
        self.h6 = h6
        self.h7 = h7
    }

    /// The SHA-256 initial hash value (FIPS 180-4 section 5.3.3).
    @inlinable
    static var sha256: SHA256State {
        SHA256State(
            0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A, 0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19
        )
    }
}
