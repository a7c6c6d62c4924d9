import SessionKit
@testable import SessionKitRedis
import SessionKitTestSupport
import Testing

/// No session ID reaches an error message: replies that embed a generated `session:<id>` key
/// in error lines, malformed lines and values fail with errors that name the kind of fault,
/// lengths and byte positions, never any 8 bytes of the ID.
@Suite("Redis error messages carry no session ID")
struct RedisRedactionTests {
    /// Malformed replies that embed `key`; each must fail to parse.
    static func malformed(_ key: String) -> [String] {
        let n = key.utf8.count
        return [
            ":\(key)\r\n", "$\(key)\r\n", "*\(key)\r\n", "%\(key)\r\n", "~\(key)\r\n", ">\(key)\r\n", "|\(key)\r\n",
            "!\(key)\r\n", "=\(key)\r\n", ",\(key)\r\n", "(\(key)\r\n", "#\(key)\r\n", "_\(key)\r\n",
            "\(key)\r\n",                                  // not a type byte
            "+\(key)\rX\r\n", "+\(key)\n", "-\(key)\n",      // bare CR, bare LF
            "$\(n - 1)\r\n\(key)\r\n",                      // payload longer than announced
            "=\(n)\r\n\(key)\r\n",                          // verbatim without a format
            ",1\(key)\r\n", "(-12\(key)\r\n",
            "+" + String(repeating: key, count: 2000),      // a line over the limit
            "*2\r\n:1\r\n$\(key.count)\r\n\(key)XX",        // inside an aggregate
        ]
    }

    @Test("parser errors describe malformed replies without repeating them, whole and byte by byte")
    func parserErrors() throws {
        let check = try RedactionCheck()
        var errors = 0
        for wire in Self.malformed(check.key).map({ Array($0.utf8) }) {
            for pieces in [[wire[...]], wire.indices.map { wire[$0...$0] }] {
                var parser = RESPParser()
                do {
                    for piece in pieces {
                        parser.append(piece)
                        while try parser.next() != nil {}
                    }
                    Issue.record("no error for \(String(decoding: wire.prefix(20), as: UTF8.self).debugDescription)")
                } catch {
                    errors += 1
                    #expect(check.leak(in: error) == nil, "\(error)")
                }
            }
        }
        #expect(errors == Self.malformed(check.key).count * 2)
    }

    @Test("error replies, unexpected replies and failed handshakes through the client and the store")
    func clientErrors() async throws {
        let check = try RedactionCheck()
        let key = check.key
        // (answer to HELLO, answer to GET); nil: the usual.
        var cases: [(hello: String?, get: String)] = [
            "-ERR unknown command 'GETEX', with args beginning with: '\(key)' 'EX' '60'", "-WRONGTYPE \(key) holds the wrong kind of value",
            "-\(key)", "-ERR", "-LOADING \(key)", "-NOAUTH \(key)", "-NOPERM \(key)", "-MOVED 12 \(key)", "-ASK 12 \(key)",
            "-READONLY \(key)", "-OOM \(key)", "-BUSY \(key)", "-NOSCRIPT \(key)", "!\(key.utf8.count)\r\n\(key)",
        ].map { (nil, $0 + "\r\n") }
        cases += ["+\(key)", ":12345678", "*2\r\n$\(key.utf8.count)\r\n\(key)\r\n:1", "%1\r\n+\(key)\r\n+\(key)", "=\(key.utf8.count + 4)\r\ntxt:\(key)"]
            .map { (nil, $0 + "\r\n") }
        cases += Self.malformed(key).map { (nil, $0) }
        cases += ["-WRONGPASS \(key)", "-ERR \(key)", "+\(key)", ":\(key)"].map { ($0 + "\r\n", "$-1\r\n") }

        var errors = 0
        for (hello, get) in cases {
            let server = try ScriptedServer { command, _ in
                switch command.first {
                case "HELLO": return hello.map { Array($0.utf8) } ?? ScriptedServer.hello
                case "GET": return Array(get.utf8)
                default: return Array("+OK\r\n".utf8)
                }
            }
            defer { server.stop() }
            let client = try ScriptedServerTests.client(server) {
                $0.maxRetries = 1
                $0.commandTimeout = .seconds(10)
            }
            defer { client.close() }
            let store = RedisSessionStore(client: client)
            for attempt in 0..<2 {
                do {
                    if attempt == 0 { _ = try await client.send("GET", RedisArgument(key)) } else { _ = try await store.load(key: key) }
                } catch {
                    errors += 1
                    #expect(check.leak(in: error) == nil, "\(error)")
                }
            }
        }
        // Every case fails at least through the store (the client returns what is a valid reply).
        #expect(errors >= cases.count, "\(errors) errors for \(cases.count) cases")
    }
}
