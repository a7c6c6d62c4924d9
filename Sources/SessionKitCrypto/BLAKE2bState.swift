/// The chaining words and byte counter of BLAKE2b (RFC 7693 section 3.2).
///
/// Stored as separate properties rather than an array so that a hasher lives entirely inline
/// (no heap allocation) and the optimiser keeps the words in registers.
@usableFromInline
struct BLAKE2bState: Sendable {
    @usableFromInline var h0: UInt64
    @usableFromInline var h1: UInt64
    @usableFromInline var h2: UInt64
    @usableFromInline var h3: UInt64
    @usableFromInline var h4: UInt64
    @usableFromInline var h5: UInt64
    @usableFromInline var h6: UInt64
    @usableFromInline var h7: UInt64
    /// The low and high words of the 128-bit count of message bytes compressed so far
    /// (the key block included).
    @usableFromInline var t0: UInt64 = 0
    @usableFromInline var t1: UInt64 = 0

    /// The initial state for a digest of `outputByteCount` bytes and a key of `keyByteCount`
    /// bytes: the IV (the SHA-512 initial hash value) with the parameter block's first word
    /// folded into `h0` (RFC 7693 section 3.3; no salt, no personalisation, sequential mode).
    @inlinable
    init(outputByteCount: Int, keyByteCount: Int) {
        h0 = 0x6A09_E667_F3BC_C908 ^ 0x0101_0000 ^ UInt64(keyByteCount << 8) ^ UInt64(outputByteCount)
        h1 = 0xBB67_AE85_84CA_A73B
        h2 = 0x3C6E_F372_FE94_F82B
        h3 = 0xA54F_F53A_5F1D_36F1
        h4 = 0x510E_527F_ADE6_82D1
        h5 = 0x9B05_688C_2B3E_6C1F
        h6 = 0x1F83_D9AB_FB41_BD6B
        h7 = 0x5BE0_CD19_137E_2179
    }
}
