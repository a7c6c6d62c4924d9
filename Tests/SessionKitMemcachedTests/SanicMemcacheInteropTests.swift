import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Testing

/// Sessions shared with a Python service running sanic_session's MemcacheSessionInterface
/// (aiomcache) on the same memcached.
@Suite("sanic_session memcache interop", .needsMemcached,
       .enabled(if: MemcachedPython.hasSanic, "no Python with sanic_session and aiomcache (pip install -r Tests/Interop/memcached/requirements.txt); set CI=true to make this a failure"))
struct SanicMemcacheInteropTests {
    @Test("a session written by sanic_session is read and updated by SessionKit, and vice versa")
    func roundTrip() async throws {
        let server = try await SharedMemcached.get()
        let host = server.host, port = "\(server.port)"
        let prefix = "sanic:\(UUID().uuidString.prefix(8)):"
        let configuration = try SessionConfiguration(expiry: 3600, prefix: prefix)
        let interface = try MemcacheSessionInterface(store: MemcachedSessionStore(testing: server.url), configuration: configuration)
        defer { interface.store.client.close() }
        let middleware = try SessionMiddleware(interface)

        let written = try await MemcachedPython.run("sanic_interop.py", ["write", host, port, prefix, "3600", #"{"user": "py", "n": 42, "tags": ["a", "b"], "path": "/x/y", "name": "Zoë"}"#])
        let sid = try #require(written["sid"] as? String)
        #expect(sid.count == 32, "sanic_session IDs are uuid4().hex")
        let raw = try #require(try await interface.store.client.get(prefix + sid))
        #expect(String(decoding: raw.value, as: UTF8.self).contains(#"\/x\/y"#), "the value is ujson's")
        #expect(raw.flags == 0)

        let browser = TestBrowser()
        browser.set("session", sid)
        let seen = try await browser.request(middleware) { context -> [String: SessionValue] in
            let session = try await context.session()
            let data = session.data
            session["swift"] = true
            session["n"] = 43
            return data
        }
        #expect(seen.value["user"] == "py")
        #expect(seen.value["n"] == 42)
        #expect(seen.value["tags"] == ["a", "b"])
        #expect(seen.value["path"] == "/x/y")
        #expect(seen.value["name"] == "Zoë")
        #expect(browser.cookies["session"] == sid)

        let read = try await MemcachedPython.run("sanic_interop.py", ["read", host, port, prefix, "3600", sid])
        let data = try #require(read["data"] as? [String: Any])
        #expect(data["user"] as? String == "py")
        #expect(data["n"] as? Int == 43)
        #expect(data["swift"] as? Bool == true)

        let fresh = TestBrowser()
        _ = try await fresh.request(middleware) { context in
            let session = try await context.session()
            session["cart"] = ["apple", "pear"]
            session["owner"] = "swift"
        }
        let swiftID = try #require(fresh.cookies["session"])
        let fromSwift = try await MemcachedPython.run("sanic_interop.py", ["update", host, port, prefix, "3600", swiftID, #"{"seen_by_python": 1}"#])
        let swiftData = try #require(fromSwift["data"] as? [String: Any])
        #expect(swiftData["owner"] as? String == "swift")
        #expect(swiftData["cart"] as? [String] == ["apple", "pear"])
        let back = try await fresh.request(middleware) { context in try await context.session()["seen_by_python"] }
        #expect(back.value == 1)
    }
}
