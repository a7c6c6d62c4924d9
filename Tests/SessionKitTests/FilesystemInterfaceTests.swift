import Foundation
import SessionKit
import SessionKitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Sessions through SessionMiddleware over the filesystem store.
@Suite("FilesystemSessionInterface")
struct FilesystemInterfaceTests {
    @Test func visitCounterLogoutAndFiles() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let interface = try FilesystemSessionInterface(configuration: .default, directory: dir.path)
        let middleware = try SessionMiddleware(interface)
        let browser = TestBrowser()
        for expected in 1...3 {
            let result = try await browser.request(middleware) { context in
                let session = try await context.session()
                let visits = (session["visits"]?.intValue ?? 0) + 1
                session["visits"] = .int(visits)
                return visits
            }
            #expect(result.value == expected)
        }
        let id = try #require(browser.cookies["session"])
        let file = dir.sub("sessionkit_session:\(id).session")
        #expect(dir.mode(file) == 0o600)
        let contents = try String(contentsOfFile: file, encoding: .utf8)
        #expect(contents.hasPrefix("sessionkit-fs/1 ttl=2592000 len="), "the configuration's expiry is the file's TTL")
        #expect(contents.contains("\"visits\":3"))
        #expect(try await interface.list() == [id])

        // Logging out (emptying the session) deletes the file and the cookie.
        _ = try await browser.request(middleware) { context in try await context.session().invalidate() }
        #expect(browser.cookies["session"] == nil)
        #expect(dir.sessionFiles().isEmpty)
    }

    @Test func expiryFromTheConfigurationAndRollingRefresh() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let time = ManualClock()
        let config = try SessionConfiguration(expiry: 3600)
        let interface = try FilesystemSessionInterface(configuration: config, directory: dir.path, clock: time.clock)
        let middleware = try SessionMiddleware(interface)
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["user"] = "ada" }
        let id = try #require(browser.cookies["session"])
        // Reads slide the expiry by moving the file's modification time.
        for _ in 0..<3 {
            time.advance(by: 3000)
            #expect(try await browser.request(middleware) { try await $0.session()["user"] }.value == "ada")
        }
        time.advance(by: 3601)
        let expired = try await browser.request(middleware) { try await $0.session() }
        #expect(expired.value.isNew)
        #expect(expired.value.id != id)
        #expect(try await interface.prune().expiredSessions == 1)
        #expect(dir.sessionFiles().isEmpty)
    }

    @Test(arguments: [true, false])
    func renewMissing(_ renew: Bool) async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let interface = try FilesystemSessionInterface(directory: dir.path, renewMissing: renew)
        let middleware = try SessionMiddleware(interface)
        let browser = TestBrowser()
        let unknown = try SessionID.generate()
        browser.set("session", unknown)
        _ = try await browser.request(middleware) { try await $0.session()["user"] = "ada" }
        let id = try #require(browser.cookies["session"])
        if renew {
            #expect(id != unknown, "an ID without a file gets a fresh one")
        } else {
            #expect(id == unknown, "secure_cookie's renew_missing=False adopts it")
        }
        #expect(dir.sessionFiles() == ["sessionkit_session:\(id).session"])
    }

    @Test func renewMissingDefaultsToTheConfiguration() throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        #expect(try FilesystemSessionInterface(directory: dir.path).configuration.adoptUnknownIDs == false)
        let adopting = try SessionConfiguration(adoptUnknownIDs: true)
        #expect(try FilesystemSessionInterface(configuration: adopting, directory: dir.path).configuration.adoptUnknownIDs == true)
        #expect(try FilesystemSessionInterface(configuration: adopting, directory: dir.path, renewMissing: true).configuration.adoptUnknownIDs == false)
    }

    @Test func periodicPruningFromTheInterface() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let time = ManualClock()
        let interface = try FilesystemSessionInterface(configuration: try SessionConfiguration(expiry: 60), directory: dir.path, clock: time.clock)
        let middleware = try SessionMiddleware(interface)
        for _ in 0..<5 {
            _ = try await TestBrowser().request(middleware) { try await $0.session()["x"] = 1 }
        }
        #expect(dir.sessionFiles().count == 5)
        let pruning = Task { await interface.prunePeriodically(every: .milliseconds(20)) }
        time.advance(by: 61)
        // The pruner runs every 20 ms of real time (its period is what is under test): polled.
        try await Poll.until("the pruner removes the expired sessions") { dir.sessionFiles().isEmpty }
        pruning.cancel()
        await pruning.value
    }

    @Test func aFailedSaveKeepsTheStoredSession() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path, maximumValueBytes: 200)
        let middleware = try SessionMiddleware(StoreSessionInterface(store: store))
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["user"] = "ada" }
        await #expect(throws: SessionError.self) {
            _ = try await browser.request(middleware) { try await $0.session()["blob"] = .string(String(repeating: "x", count: 500)) }
        }
        #expect(try await browser.request(middleware) { try await $0.session()["user"] }.value == "ada")
    }
}
