import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

/// Sessions shared with a Python service running sanic_session (PyPI) on the same Redis.
///
/// Needs a Python with `pip install -r Tests/Interop/redis/requirements.txt`: the one named by
/// `SESSIONKIT_PYTHON`, else `.venv/bin/python` in the package root. Skipped without
/// one, except under CI=true, where that is a failure.
enum SanicPython {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = packageRoot.appendingPathComponent("Tests/Interop/redis/sanic_interop.py").path

    static var python: String? {
        if let configured = ProcessInfo.processInfo.environment["SESSIONKIT_PYTHON"], !configured.isEmpty { return configured }
        let venv = packageRoot.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }

    /// Whether the interop test runs: a Python that imports sanic_session is there, or CI=true
    /// (where its absence is a failure, not a skip).
    static let shouldRun: Bool = {
        if ServerProcess.isCI { return true }
        guard let python, RedisServer.shouldRun else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import sanic_session, redis.asyncio"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    /// Runs the script and decodes its JSON output.
    static func run(_ arguments: [String]) async throws -> [String: Any] {
        guard let python else {
            throw FixtureError("no Python with sanic_session: run `python3 -m venv .venv && .venv/bin/pip install -r Tests/Interop/redis/requirements.txt`, or set SESSIONKIT_PYTHON")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        guard status == 0, let object = try JSONSerialization.jsonObject(with: out) as? [String: Any] else {
            throw FixtureError("sanic_interop.py \(arguments.first ?? "") failed (\(status)):\n\(String(decoding: err, as: UTF8.self))")
        }
        return object
    }
}

@Suite("sanic_session interop", .needsRedis, .enabled(if: SanicPython.shouldRun, "no Python with sanic_session (see Tests/Interop/redis/requirements.txt); set CI=true to make this a failure"))
struct SanicInteropTests {
    @Test("a session written by sanic_session is read and updated by SessionKit, and vice versa")
    func roundTrip() async throws {
        let server = try await SharedRedis.get()
        let prefix = "sanic:\(UUID().uuidString.prefix(8)):"
        let url = server.url
        let configuration = try SessionConfiguration(expiry: 3600, prefix: prefix)
        let interface = try RedisSessionInterface(store: RedisSessionStore(testing: url), configuration: configuration)
        defer { interface.store.client.close() }
        let middleware = try SessionMiddleware(interface)

        // Python writes; ujson escapes "/" as "\/", which SessionKit must read as "/".
        let written = try await SanicPython.run(["write", url, prefix, "3600", #"{"user": "py", "n": 42, "tags": ["a", "b"], "path": "/x/y", "name": "Zoë"}"#])
        let sid = try #require(written["sid"] as? String)
        #expect(sid.count == 32, "sanic_session IDs are uuid4().hex")
        let raw = try await interface.store.client.send("GET", RedisArgument(prefix + sid)).string ?? ""
        #expect(raw.contains(#"\/x\/y"#), "the value is ujson's: \(raw)")
        let ttl = try await interface.store.client.send("TTL", RedisArgument(prefix + sid)).integer ?? 0
        #expect(ttl > 3500, "sanic_session stores with SETEX")

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
        #expect(browser.cookies["session"] == sid, "SessionKit keeps the ID the store knows")

        // Python reads what SessionKit saved.
        let read = try await SanicPython.run(["read", url, prefix, "3600", sid])
        let data = try #require(read["data"] as? [String: Any])
        #expect(data["user"] as? String == "py")
        #expect(data["n"] as? Int == 43)
        #expect(data["swift"] as? Bool == true)
        #expect(data["path"] as? String == "/x/y")

        // A session SessionKit creates is read by sanic_session, and Python's update is seen back.
        let fresh = TestBrowser()
        _ = try await fresh.request(middleware) { context in
            let session = try await context.session()
            session["cart"] = ["apple", "pear"]
            session["owner"] = "swift"
        }
        let swiftID = try #require(fresh.cookies["session"])
        let fromSwift = try await SanicPython.run(["update", url, prefix, "3600", swiftID, #"{"seen_by_python": 1}"#])
        let swiftData = try #require(fromSwift["data"] as? [String: Any])
        #expect(swiftData["owner"] as? String == "swift")
        #expect(swiftData["cart"] as? [String] == ["apple", "pear"])
        let back = try await fresh.request(middleware) { context in
            try await context.session()["seen_by_python"]
        }
        #expect(back.value == 1)
    }
}
