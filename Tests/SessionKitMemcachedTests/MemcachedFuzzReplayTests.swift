import SessionKitTestSupport
import Testing

/// Replays the committed fuzz inputs of the `memcached` target (Fuzz/Corpus/memcached and
/// Fuzz/Regressions/memcached) through the same checks the libFuzzer binary runs
/// (Tests/SessionKitMemcachedTests/Fuzzing/MemcachedFuzz.swift), so an input that once failed keeps passing.
@Suite("Fuzz replay: memcached")
struct MemcachedFuzzReplayTests {
    @Test func replaysCorpusAndRegressions() throws {
        let corpus = try FuzzInputs.corpus("memcached")
        let regressions = try FuzzInputs.regressions("memcached")
        #expect(corpus.count >= 5, "the seed corpus of memcached is missing")
        for input in corpus + regressions {
            do {
                try MemcachedFuzz.run(input.bytes)
            } catch {
                Issue.record("\(input.path): \(error)")
            }
        }
    }
}
