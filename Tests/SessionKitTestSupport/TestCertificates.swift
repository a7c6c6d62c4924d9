import Foundation

/// Certificates made at test time with the `openssl` command line, in a scratch directory: a
/// CA, a server certificate it signs for 127.0.0.1 and `localhost`, an expired one, a client
/// certificate, and an unrelated CA that signed none of them.
public struct TestCertificates: Sendable {
    /// The scratch directory.
    public let directory: String
    /// The CA that signed the server and client certificates.
    public var caFile: String { directory + "/ca.pem" }
    /// A CA that signed nothing here.
    public var otherCAFile: String { directory + "/other-ca.pem" }
    /// The server's certificate (SAN IP:127.0.0.1, DNS:localhost) and key.
    public var serverCertificate: String { directory + "/server.pem" }
    public var serverKey: String { directory + "/server.key" }
    /// The same server's certificate, expired yesterday, and its key.
    public var expiredCertificate: String { directory + "/expired.pem" }
    public var expiredKey: String { directory + "/expired.key" }
    /// A client certificate the CA signed, and its key.
    public var clientCertificate: String { directory + "/client.pem" }
    public var clientKey: String { directory + "/client.key" }

    /// Whether the `openssl` command line is there.
    public static var openSSLMissing: Bool { ServerProcess.findExecutable("openssl") == nil }

    /// Makes the certificates (EC P-256 keys: a fraction of a second in all).
    public static func make() async throws -> TestCertificates {
        guard let openssl = ServerProcess.findExecutable("openssl") else {
            throw FixtureError("the openssl command line is not installed (apt-get install -y openssl)")
        }
        let directory = NSTemporaryDirectory() + "sessionkit-tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try await run(openssl, ["req", "-x509"] + key + ["-keyout", directory + "/ca.key", "-out", certificates.caFile, "-days", "2", "-subj", "/CN=SessionKit Test CA"])
        try await run(openssl, ["req", "-x509"] + key + ["-keyout", directory + "/other-ca.key", "-out", certificates.otherCAFile, "-days", "2", "-subj", "/CN=Another Test CA"])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(toFile: directory + "/client.ext", atomically: true, encoding: .utf8)
        for (name, subject, days, extensions) in [
            ("server", "/CN=127.0.0.1", "2", "server.ext"), ("expired", "/CN=127.0.0.1", "-1", "server.ext"),
            ("client", "/CN=sessionkit-client", "2", "client.ext"),
        ] {
            try await run(openssl, ["req"] + key + ["-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).csr", "-subj", subject])
            try await run(openssl, [
                "x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", certificates.caFile, "-CAkey", directory + "/ca.key",
                "-CAcreateserial", "-out", "\(directory)/\(name).pem", "-days", days, "-extfile", "\(directory)/\(extensions)",
            ])
        }
        return certificates
    }

    private static func run(_ executable: String, _ arguments: [String]) async throws {
        let (status, output) = try await runBlocking { () throws -> (Int32, String) in
            let process = Process()
            let pipe = Pipe()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.standardOutput = pipe
            process.standardError = pipe
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        guard status == 0 else {
            throw FixtureError("openssl \(arguments.prefix(2).joined(separator: " ")) failed (\(status)): \(output)")
        }
    }
}
