import SessionKitTestSupport
import Testing

/// Replays the committed fuzz inputs of the `resp` target (Fuzz/Corpus/resp and
/// Fuzz/Regressions/resp) through the same checks the libFuzzer binary runs
/// (Tests/SessionKitRedisTests/Fuzzing/RESPFuzz.swift), so an input that once failed keeps passing.
@Suite("Fuzz replay: resp")
struct RESPFuzzReplayTests {
    @Test func replaysCorpusAndRegressions() throws {
        let corpus = try FuzzInputs.corpus("resp")
        let regressions = try FuzzInputs.regressions("resp")
        #expect(corpus.count >= 5, "the seed corpus of resp is missing")
        for input in corpus + regressions {
            do {
                try RESPFuzz.run(input.bytes)
            } catch {
                Issue.record("\(input.path): \(error)")
            }
        }
    }
}
