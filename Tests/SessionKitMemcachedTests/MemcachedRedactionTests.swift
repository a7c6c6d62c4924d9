import SessionKit
@testable import SessionKitMemcached
import SessionKitTestSupport
import Testing

/// No session ID reaches an error message: replies that embed a generated `session:<id>` key
/// in error lines, malformed lines, keys and values, and keys or meta flags that are refused
/// before sending, fail with errors that name the kind of fault, lengths and byte positions,
/// never any 8 bytes of the ID.
@Suite("memcached error messages carry no session ID")
struct MemcachedRedactionTests {
    /// Hostile answers to `get <key>`, each embedding `key`.
    static func replies(_ key: String) -> [String] {
        [
            "VALUE \(key)-other 0 5\r\nhello\r\nEND\r\n",   // a key not asked for
            "VALUE \(key) 0 abc\r\n", "VALUE \(key) x 5\r\n", "VALUE \(key) 0 5 1 2\r\n", "VALUE \(key) 0 5 \(key)\r\n",
            "VALUE \(key) 0 99999999\r\n",                    // over the value limit
            "VALUE \(key) 0 5\r\nhelloXX",                    // data longer than announced
            "VALUE \(key)\u{1} 0 5\r\n", "VALUE \(key)\r0 5\r\n", "VALUE \(key) 0 5\n",
            "VALUE k 0 \(key.utf8.count)\r\n\(key)\r\nEND \(key)\r\n",
            "SERVER_ERROR \(key)\r\n", "SERVER_ERROR object too large \(key)\r\n", "SERVER_ERROR out of memory \(key)\r\n",
            "CLIENT_ERROR \(key)\r\n", "ERROR \(key)\r\n", "VERSION \(key)\r\n", "STORED \(key)\r\n",
            "\(key)\r\n", "12\(key)\r\n", "HD \(key)\r\n", "EN \(key)\r\n", "MN \(key)\r\n", "VA 5 \(key)\r\nhello\r\n",
            "VA \(key)\r\n", "VA 5 9\(key)\r\nhello\r\n",
            "VALUE \(key) 0 5\r\n" + String(repeating: key, count: 200),
            String(repeating: key, count: 400),                // a line over the limit
        ]
    }

    @Test("parser errors describe malformed replies without repeating them, whole and byte by byte")
    func parserErrors() throws {
        let check = try RedactionCheck()
        let keys = [Array(check.key.utf8)]
        for reply in Self.replies(check.key) {
            let wire = Array(reply.utf8)
            for pieces in [[wire[...]], wire.indices.map { wire[$0...$0] }] {
                var parser = MemcachedParser()
                do {
                    for piece in pieces {
                        parser.append(piece)
                        while try parser.next(expectingKeys: keys) != nil {}
                    }
                } catch {
                    #expect(check.leak(in: error) == nil, "\(error)")
                }
            }
        }
    }

    @Test("hostile replies through the client and the store", arguments: 0..<28)
    func clientErrors(_ index: Int) async throws {
        let check = try RedactionCheck()
        let replies = Self.replies(check.key)
        try #require(replies.count == 28)
        let server = try ScriptedMemcached(reply: replies[index])
        defer { server.stop() }
        let client = try MemcachedClient(testing: "memcached://127.0.0.1:\(server.port)")
        defer { client.close() }
        let store = MemcachedSessionStore(client: client)
        var errors = 0
        for attempt in 0..<2 {
            do {
                if attempt == 0 { _ = try await client.get(check.key) } else { _ = try await store.load(key: check.key) }
            } catch {
                errors += 1
                #expect(check.leak(in: error) == nil, "\(error)")
            }
        }
        #expect(errors >= 1, "the hostile reply \(index) failed nothing")
    }

    @Test("keys and meta flags refused before sending are described, not quoted")
    func refusedKeysAndFlags() async throws {
        let check = try RedactionCheck()
        let key = check.key
        var errors: [any Error] = []
        for bad in ["\(key) flush_all", "\(key)\r\nflush_all", "\(key)\u{0}", String(repeating: key, count: 6), "\(key)é"] {
            do { try MemcachedKey.validate(bad) } catch { errors.append(error) }
        }
        let client = try MemcachedClient(testing: "memcached://127.0.0.1:1")
        defer { client.close() }
        for flag in ["O\(key)", "k\(key) x", "k\(key)\r\n", "v" + String(repeating: key, count: 2)] {
            do { _ = try await client.send(.metaGet(key: "k", flags: [flag])) } catch { errors.append(error) }
        }
        #expect(errors.count == 9)
        for error in errors {
            #expect((error as? SessionError)?.code == .invalidKey || (error as? SessionError)?.code == .unsupported, "\(error)")
            #expect(check.leak(in: error) == nil, "\(error)")
        }
    }
}
