// libFuzzer entry point of the `encrypted_cookie` target; the checks are in
// Tests/SessionKitTests/Fuzzing/EncryptedCookieFuzz.swift (shared with the replay tests).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: start, count: count))
    do {
        try EncryptedCookieFuzz.run(input)
    } catch {
        fatalError("encrypted_cookie: \(error)")
    }
    return 0
}
