// libFuzzer entry point of the `cookie_header` target; the checks are in
// Tests/SessionKitTests/Fuzzing/CookieHeaderFuzz.swift (shared with the replay tests).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: start, count: count))
    do {
        try CookieHeaderFuzz.run(input)
    } catch {
        fatalError("cookie_header: \(error)")
    }
    return 0
}
