import SessionKit
import SessionKitTestSupport
import Testing

@Suite("Lost updates")
struct LostUpdateTests {
    @Test func wholeSessionSavesLoseOverlappingChanges() async throws {
        let middleware = try SessionMiddleware(InMemorySessionInterface())
        let lost = try await LostUpdateCheck.lostChanges(middleware: middleware, pairs: 50)
        #expect(lost == 50, "each pair loses exactly the earlier request's key")
    }

    @Test func changedKeysSavesKeepEveryChange() async throws {
        var config = SessionConfiguration.default
        config.saveMode = .changedKeys
        let middleware = try SessionMiddleware(InMemorySessionInterface(configuration: config))
        #expect(try await LostUpdateCheck.lostChanges(middleware: middleware, pairs: 50) == 0)
    }

    @Test func changedKeysHandlesRemovalsFlashAndEmptying() async throws {
        var config = SessionConfiguration.default
        config.saveMode = .changedKeys
        let store = InMemorySessionStore()
        let middleware = try SessionMiddleware(StoreSessionInterface(store: store, configuration: config))
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { context in
            let session = try await context.session()
            session["a"] = 1
            session["b"] = 2
            session.flash("hello")
        }
        _ = try await browser.request(middleware) { context in
            let session = try await context.session()
            session["a"] = nil
            #expect(session.popFlash() == ["hello"])
            session.update { $0["c"] = 3 }
        }
        let data = try await browser.request(middleware) { try await $0.session().data }.value
        #expect(data == ["b": 2, "c": 3])
        // Emptying the session deletes it, as in whole-session mode.
        let id = try #require(browser.cookies["session"])
        let emptied = try await browser.request(middleware) { try await $0.session().removeAll() }
        #expect(emptied.setCookies.first?.contains("Max-Age=0") == true)
        #expect(try await store.load(key: "session:\(id)") == nil)
    }

    @Test func changedKeysDoesNotResurrectASessionDeletedMeanwhile() async throws {
        var config = SessionConfiguration.default
        config.saveMode = .changedKeys
        let store = InMemorySessionStore()
        let middleware = try SessionMiddleware(StoreSessionInterface(store: store, configuration: config))
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["user"] = "ada" }
        let id = try #require(browser.cookies["session"])
        _ = try await middleware.handle(cookieHeaders: browser.cookieHeaders) { context in
            let session = try await context.session()
            try await store.delete(key: "session:\(id)")  // a logout in another request
            session["cart"] = "book"
        }
        #expect(try await store.load(key: "session:\(id)") == nil)
    }

    @Test func changedKeysNeedsAVersionedStore() throws {
        var config = SessionConfiguration.default
        config.saveMode = .changedKeys
        let error = #expect(throws: SessionError.self) {
            try StoreSessionInterface(store: InstrumentedStore(InMemorySessionStore()), configuration: config)
        }
        #expect(error?.message.contains("wholeSession") == true)
    }
}
