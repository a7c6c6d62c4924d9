import Foundation
import SessionKitTestSupport
@testable import SessionKitTLS
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The certificates every TLS test shares, made once per run.
let sharedCertificates = Task { try await TestCertificates.make() }

extension Trait where Self == ConditionTrait {
    /// Runs when redis-server and openssl are installed, or under CI=true (where their absence fails).
    static var needsRedisAndOpenSSL: ConditionTrait {
        .enabled(if: RedisServer.shouldRun && (!TestCertificates.openSSLMissing || ServerProcess.isCI),
                 "redis-server or the openssl command line is not installed (apt-get install -y redis-server openssl); set CI=true to make this a failure")
    }

    /// Runs when memcached and openssl are installed, or under CI=true.
    static var needsMemcachedAndOpenSSL: ConditionTrait {
        .enabled(if: ServerProcess.shouldRun(needing: "memcached") && (!TestCertificates.openSSLMissing || ServerProcess.isCI),
                 "memcached or the openssl command line is not installed (apt-get install -y memcached openssl); set CI=true to make this a failure")
    }
}

/// A redis-server with a plain port (for the fixture's readiness check) and a TLS port.
struct TLSRedis {
    let server: RedisServer
    let tlsPort: Int

    /// Starts one with `certificate`/`key`, trusting the test CA for client certificates; with
    /// `ipv6`, also listening on `::1`.
    static func start(certificate: String, key: String, certificates: TestCertificates, requireClientCertificates: Bool = false,
                      ipv6: Bool = false) async throws -> TLSRedis {
        var attempt = 0
        while true {
            attempt += 1
            let tlsPort = try ServerProcess.freePort()
            let options = RedisServer.Options(extraArguments: [
                "--tls-port", "\(tlsPort)", "--tls-cert-file", certificate, "--tls-key-file", key,
                "--tls-ca-cert-file", certificates.caFile, "--tls-auth-clients", requireClientCertificates ? "yes" : "no",
            ], ipv6: ipv6)
            do {
                return TLSRedis(server: try await RedisServer.start(options), tlsPort: tlsPort)
            } catch let error as FixtureError where attempt < 5 && error.description.contains("Address already in use") {
                continue  // the TLS port was taken between picking and binding it
            }
        }
    }

    func stop() { server.stop() }
}

/// Drives a ``TLSClientSession`` over a blocking loopback socket, the way the engine's event
/// loop drives it over a non-blocking one: bytes read go to `receive`, what TLS has to send goes
/// to the socket.
enum TLSDriver {
    struct NoAnswer: Error, CustomStringConvertible {
        let description: String
    }

    /// Connects to 127.0.0.1:`port`, completes the handshake as `host`, sends `request`, and
    /// reads until the plaintext ends with `until` and is at least `length` bytes long. Every
    /// read waits `readLimit` seconds at most, so nothing hangs; a handshake that has not
    /// completed by then ends with ``TLSClientSession/handshakeTimedOut()``, as the engine's
    /// deadline ends it.
    static func exchange(port: Int, context: TLSContext, host: String = "127.0.0.1", request: String, until: String,
                         length: Int = 0, readLimit: Int = 10) async throws -> String {
        let end = Array(until.utf8)
        let complete: @Sendable ([UInt8]) -> Bool = { $0.count >= max(length, end.count) && Array($0.suffix(end.count)) == end }
        return try await runBlocking {
            let session = try TLSClientSession(context: context, host: host, serverDescription: "the test server at 127.0.0.1:\(port)")
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw NoAnswer(description: "socket() failed") }
            defer { close(fd) }
            var timeout = timeval(tv_sec: readLimit, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard Loopback.connect(fd, port: port) else { throw NoAnswer(description: "cannot connect to port \(port)") }
            var outgoing: [UInt8] = []
            func flush() throws {
                outgoing.removeAll(keepingCapacity: true)
                session.takeOutgoing(into: &outgoing)
                var sent = 0
                while sent < outgoing.count {
                    let count = outgoing[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    guard count > 0 else { return }  // the server closed; the next read says how
                    sent += count
                }
            }
            var chunk = [UInt8](repeating: 0, count: 16384)
            /// Reads once; false when the server closed.
            func pull() throws -> Bool {
                let count = recv(fd, &chunk, chunk.count, 0)
                if count < 0 {
                    if !session.isHandshakeComplete { throw session.handshakeTimedOut() }
                    throw NoAnswer(description: "no answer within \(readLimit) s (errno \(errno))")
                }
                if count == 0 { return false }
                chunk.withUnsafeBytes { session.receive(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                return true
            }
            while try !session.handshake() {
                try flush()
                guard try pull() else { throw session.closedByServer() }
            }
            try flush()
            try Array(request.utf8).withUnsafeBytes { try session.write($0) }
            try flush()
            var plaintext: [UInt8] = []
            while !complete(plaintext) {
                guard try session.read(into: &plaintext) else { break }
                if complete(plaintext) { break }
                try flush()
                guard try pull() else { throw session.closedByServer() }
            }
            session.closeNotify()
            try flush()
            return String(decoding: plaintext, as: UTF8.self)
        }
    }
}
