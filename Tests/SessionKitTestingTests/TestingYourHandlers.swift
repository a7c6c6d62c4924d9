import SessionKit
import SessionKitTesting
import Testing

// The handler under test: what an app's route calls with the request's sessions.
func visit(_ context: SessionContext) async throws -> String {
    let session = try await context.session()
    let visits = (session["visits"]?.intValue ?? 0) + 1
    session["visits"] = .int(visits)
    return "visit \(visits)"
}

@Suite struct VisitTests {
    @Test func countsVisitsAcrossRequests() async throws {
        let client = TestSessionClient(try SessionMiddleware(InMemorySessionInterface()))
        #expect(try await client.request(visit).value == "visit 1")
        #expect(try await client.request(visit).value == "visit 2")
        client.clearCookies()  // a new browser
        #expect(try await client.request(visit).value == "visit 1")
    }

    @Test func theSessionEndsAfterItsExpiry() async throws {
        let clock = TestClock()
        let store = TestSessionStore(clock: clock.sessionClock)
        let interface = try StoreSessionInterface(
            store: store, configuration: SessionConfiguration(expiry: 60), clock: clock.sessionClock)
        let client = TestSessionClient(try SessionMiddleware(interface))
        try await client.request(visit)
        let id = try #require(client.cookies["session"])
        #expect(store.data(forKey: "session:" + id)?["visits"] == 1)
        clock.advance(by: 61)
        #expect(try await client.request(visit).value == "visit 1")
    }
}
