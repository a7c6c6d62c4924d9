import Foundation

/// Runs the Python scripts of `Tests/Interop` with the interpreter that has the peers
/// installed (pyramid, sanic-session, ...): `$SESSIONKIT_PYTHON`, or the repository's `.venv`
/// that `.ci/run` creates.
public enum PythonInterop {
    /// The repository's root directory.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The interpreter to use, or `nil` when none is set up.
    public static var python: String? {
        if let configured = ProcessInfo.processInfo.environment["SESSIONKIT_PYTHON"], !configured.isEmpty {
            return configured
        }
        let venv = repositoryRoot.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }

    /// Whether interoperability tests should run: an interpreter is set up, or we are under CI
    /// (`CI=true`), where a missing one is a failure rather than a skip.
    public static var shouldRun: Bool {
        python != nil || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `Tests/Interop/<script>` with `input` as standard input and returns its standard output.
    /// The script runs on a thread of its own (see ``runBlocking(_:)``).
    public static func run(_ script: String, input: Data, arguments: [String] = []) async throws -> Data {
        try await runBlocking { try runOnThisThread(script, input: input, arguments: arguments) }
    }

    private static func runOnThisThread(_ script: String, input: Data, arguments: [String]) throws -> Data {
        guard let python else {
            throw Failure(description: "no Python interpreter with the interop requirements: run `python3 -m venv .venv && .venv/bin/pip install -r Tests/Interop/requirements.txt`, or set SESSIONKIT_PYTHON")
        }
        // A script that exits before reading all its input must not kill the test process
        // with SIGPIPE (which would also leave the test servers running).
        signal(SIGPIPE, SIG_IGN)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [repositoryRoot.appendingPathComponent("Tests/Interop/\(script)").path] + arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Write and read concurrently so that neither pipe fills up.
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(script) exited with \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
        }
        return output
    }

    /// Runs a script that maps a JSON array of operations to a JSON array of results.
    public static func runJSON(_ script: String, _ operations: [[String: Any]]) async throws -> [[String: Any]] {
        let input = try JSONSerialization.data(withJSONObject: operations)
        let output = try await run(script, input: input)
        guard let results = try JSONSerialization.jsonObject(with: output) as? [[String: Any]] else {
            throw Failure(description: "\(script) did not print a JSON array: \(String(decoding: output, as: UTF8.self))")
        }
        if let error = results.compactMap({ $0["error"] as? String }).first {
            throw Failure(description: "\(script) failed: \(error)")
        }
        return results
    }
}
