/// The eight 64-bit chaining words of SHA-512 and SHA-384 (FIPS 180-4 section 6.4).
///
/// Stored as separate properties rather than an array so that a hash value lives entirely
/// inline (no heap allocation) and the optimiser keeps the words in registers.
@usableFromInline
struct SHA512State: Sendable {
    @usableFromInline var h0: UInt64
    @usableFromInline var h1: UInt64
    @usableFromInline var h2: UInt64
    @usableFromInline var h3: UInt64
    @usableFromInline var h4: UInt64
    @usableFromInline var h5: UInt64
    @usableFromInline var h6: UInt64
    @usableFromInline var h7: UInt64

    @inlinable
    init(_ h0: UInt64, _ h1: UInt64, _ h2: UInt64, _ h3: UInt64, _ h4: UInt64, _ h5: UInt64, _ h6: UInt64, _ h7: UInt64) {
        self.h0 = h0
        self.h1 = h1
        self.h2 = h2
        self.h3 = h3
        self.h4 = h4
        self.h5 = h5
        self.h6 = h6
        self.h7 = h7
    }

    /// The SHA-512 initial hash value (FIPS 180-4 section 5.3.5).
    @inlinable
    static var sha512: SHA512State {
        SHA512State(
            0x6A09_E667_F3BC_C908, 0xBB67_AE85_84CA_A73B, 0x3C6E_F372_FE94_F82B, 0xA54F_F53A_5F1D_36F1,
            0x510E_527F_ADE6_82D1, 0x9B05_688C_2B3E_6C1F, 0x1F83_D9AB_FB41_BD6B, 0x5BE0_CD19_137E_2179
        )
    }

    /// The SHA-384 initial hash value (FIPS 180-4 section 5.3.4).
    @inlinable
    static var sha384: SHA512State {
        SHA512State(
            0xCBBB_9D5D_C105_9ED8, 0x629A_292A_367C_D507, 0x9159_015A_3070_DD17, 0x152F_ECD8_F70E_5939,
            0x6733_2667_FFC0_0B31, 0x8EB4_4A87_6858_1511, 0xDB0C_2E0D_64F9_8FA7, 0x47B5_481D_BEFA_4FA4
        )
    }
}
