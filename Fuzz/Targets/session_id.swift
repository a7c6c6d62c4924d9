// libFuzzer entry point of the `session_id` target; the checks are in
// Tests/SessionKitTests/Fuzzing/SessionIDFuzz.swift (shared with the replay tests).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: start, count: count))
    do {
        try SessionIDFuzz.run(input)
    } catch {
        fatalError("session_id: \(error)")
    }
    return 0
}
