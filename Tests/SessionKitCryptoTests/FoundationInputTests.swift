import Foundation
import SessionKitCrypto
import Testing

@Suite("Foundation inputs")
struct FoundationInputTests {
    @Test("Data and its slices hash in place, like [UInt8]")
    func data() {
        var rng = SplitMix64(seed: 11)
        let bytes = rng.bytes(count: 1000)
        let data = Data(bytes)
        #expect(data.withContiguousStorageIfAvailable { _ in true } == true)
        #expect(SHA512.hash(data: data) == SHA512.hash(data: bytes))
        #expect(SHA256.hash(data: data[100..<900]) == SHA256.hash(data: bytes[100..<900]))
        let key = HMACKey<SHA512>(SymmetricKey(data: Data(repeating: 1, count: 32)))
        let mac = key.authenticationCode(for: data)
        #expect(mac == key.authenticationCode(for: bytes))
        #expect(key.isValidAuthenticationCode(Data(mac), authenticating: data))
    }
}
