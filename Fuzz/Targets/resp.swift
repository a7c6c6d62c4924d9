// libFuzzer entry point of the `resp` target; the checks are in
// Tests/SessionKitRedisTests/Fuzzing/RESPFuzz.swift (shared with the replay tests).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: start, count: count))
    do {
        try RESPFuzz.run(input)
    } catch {
        fatalError("resp: \(error)")
    }
    return 0
}
