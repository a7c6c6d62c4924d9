import Dispatch
import Foundation
import SessionKitTestSupport
import Testing

/// Runs the Python scripts of `Tests/Interop/memcached` with the interpreter that has their
/// requirements (`Tests/Interop/memcached/requirements.txt`): `$SESSIONKIT_PYTHON`, else the
/// repository's `.venv`.
enum MemcachedPython {
    static let scripts = PythonInterop.repositoryRoot.appendingPathComponent("Tests/Interop/memcached")

    /// Whether `module` imports in the configured interpreter.
    static func canImport(_ modules: String) -> Bool {
        guard let python = PythonInterop.python else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import \(modules)"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }

    /// pylibmc is importable, or CI=true (where its absence fails the tests).
    static let hasPylibmc: Bool = ServerProcess.isCI || (MemcachedServer.shouldRun && canImport("pylibmc"))
    /// sanic_session and aiomcache are importable, or CI=true.
    static let hasSanic: Bool = ServerProcess.isCI || (MemcachedServer.shouldRun && canImport("sanic_session, aiomcache"))

    private static let queue = DispatchQueue(label: "SessionKitMemcachedTests.python", attributes: .concurrent)

    /// A child that exits early must not kill the test process with SIGPIPE while we write its stdin.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Runs `script` with `arguments` and `input` on stdin; returns its stdout parsed as a JSON
    /// object. The blocking wait runs on a Dispatch queue, bounded by `timeout`.
    static func run(_ script: String, _ arguments: [String], input: Data = Data(), timeout: Duration = .seconds(120)) async throws -> [String: Any] {
        guard let python = PythonInterop.python else {
            throw FixtureError("no Python with the memcached interop requirements: run `python3 -m venv .venv && .venv/bin/pip install -r Tests/Interop/memcached/requirements.txt`, or set SESSIONKIT_PYTHON")
        }
        let path = scripts.appendingPathComponent(script).path
        _ = ignoreSIGPIPE
        let data: Data = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: python)
                    process.arguments = [path] + arguments
                    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
                    process.standardInput = stdin
                    process.standardOutput = stdout
                    process.standardError = stderr
                    try process.run()
                    let killer = DispatchWorkItem { if process.isRunning { process.terminate() } }
                    queue.asyncAfter(deadline: .now() + .seconds(Int(timeout.components.seconds)), execute: killer)
                    let writer = Thread {
                        try? stdin.fileHandleForWriting.write(contentsOf: input)
                        try? stdin.fileHandleForWriting.close()
                    }
                    writer.start()
                    let errors = Mutex<Data>(Data())
                    let errorsRead = DispatchSemaphore(value: 0)
                    let errorReader = Thread {
                        errors.withLock { $0 = stderr.fileHandleForReading.readDataToEndOfFile() }
                        errorsRead.signal()
                    }
                    errorReader.start()
                    let output = stdout.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    killer.cancel()
                    errorsRead.wait()
                    guard process.terminationStatus == 0 else {
                        throw FixtureError("\(script) \(arguments.first ?? "") exited with \(process.terminationStatus): \(String(decoding: errors.withLock { $0 }, as: UTF8.self))")
                    }
                    return output
                })
            }
        }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError("\(script) did not print a JSON object: \(String(decoding: data.prefix(500), as: UTF8.self))")
        }
        return object
    }
}

import Synchronization
