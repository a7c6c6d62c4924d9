// libFuzzer entry point of the `memcached` target; the checks are in
// Tests/SessionKitMemcachedTests/Fuzzing/MemcachedFuzz.swift (shared with the replay tests).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: start, count: count))
    do {
        try MemcachedFuzz.run(input)
    } catch {
        fatalError("memcached: \(error)")
    }
    return 0
}
