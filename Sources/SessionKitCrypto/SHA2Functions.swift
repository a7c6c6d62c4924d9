// The logical functions shared by SHA-256 and SHA-512 (FIPS 180-4 sections 4.1.2 and 4.1.3).
// The sigma functions, which differ between the two, are generated next to the rounds.

/// Ch(x, y, z): for each bit, `y` where `x` is set, else `z`.
@inline(__always)
func sha2Choose(_ x: UInt64, _ y: UInt64, _ z: UInt64) -> UInt64 {
    z ^ (x & (y ^ z))
}

/// Maj(x, y, z): for each bit, the majority of the three inputs.
///
/// Written as `y ^ ((x ^ y) & (y ^ z))` so that `x ^ y` of one round is the `y ^ z` of the
/// next and the optimiser computes it once.
@inline(__always)
func sha2Majority(_ x: UInt64, _ y: UInt64, _ z: UInt64) -> UInt64 {
    y ^ ((x ^ y) & (y ^ z))
}

/// Ch(x, y, z) on 32-bit words.
@inline(__always)
func sha2Choose(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 {
    z ^ (x & (y ^ z))
}

/// Maj(x, y, z) on 32-bit words.
@inline(__always)
func sha2Majority(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 {
    y ^ ((x ^ y) & (y ^ z))
}
