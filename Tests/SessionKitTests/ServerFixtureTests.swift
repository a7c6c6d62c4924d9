import SessionKitTestSupport
import Testing

/// The server fixtures pick a free port and start the server on it; another process can take
/// the port in between, and the fixture then tries another one.
@Suite("Server fixtures")
struct ServerFixtureTests {
    final class Counter: @unchecked Sendable {
        var value = 0
    }

    @Test func aPortClashIsRetriedWithAnotherPort() async throws {
        let attempts = Counter()
        var ports: [Int] = []
        let port = try await ServerProcess.retryingOnPortClash(attempts: 5) { port in
            attempts.value += 1
            ports.append(port)
            if attempts.value < 3 { throw FixtureError("server exited; log: bind: Address already in use") }
            return port
        }
        #expect(attempts.value == 3 && ports.last == port && ports.allSatisfy { $0 > 0 })
    }

    @Test func otherFailuresAndTheLastClashAreThrown() async throws {
        let attempts = Counter()
        await #expect(throws: FixtureError.self) {
            try await ServerProcess.retryingOnPortClash(attempts: 5) { _ -> Int in
                attempts.value += 1
                throw FixtureError("server exited; log: unknown option")
            }
        }
        #expect(attempts.value == 1)
        attempts.value = 0
        await #expect(throws: FixtureError.self) {
            try await ServerProcess.retryingOnPortClash(attempts: 4) { _ -> Int in
                attempts.value += 1
                throw FixtureError("Address already in use")
            }
        }
        #expect(attempts.value == 4)
    }
}
