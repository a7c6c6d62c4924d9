// libFuzzer entry point of the `json` target; the checks are in
// Tests/SessionKitTests/Fuzzing/JSONFuzz.swift (shared with the replay tests).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: start, count: count))
    do {
        try JSONFuzz.run(input)
    } catch {
        fatalError("json: \(error)")
    }
    return 0
}
