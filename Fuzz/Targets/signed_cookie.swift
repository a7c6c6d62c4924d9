// libFuzzer entry point of the `signed_cookie` target; the checks are in
// Tests/SessionKitTests/Fuzzing/SignedCookieFuzz.swift (shared with the replay tests).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: start, count: count))
    do {
        try SignedCookieFuzz.run(input)
    } catch {
        fatalError("signed_cookie: \(error)")
    }
    return 0
}
