import Foundation
import SessionKit
import SessionKitTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A private directory for one test; `defer { dir.remove() }` right after creating it.
///
/// Removal is explicit rather than in `deinit`, which may run as soon as the test last uses
/// the object, while a store is still writing in the directory.
final class FilesystemTestDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/skfs-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        path = String(cString: made)
    }

    /// Removes the directory and everything in it.
    ///
    /// A store may still be removing its spare files (its `deinit` can run on one of its I/O
    /// threads just after the test's last call returned), which makes a single removeItem
    /// stop at a vanished file: try again.
    func remove() {
        chmod(path, 0o700)
        // The store's files vanish on another thread, without notice: polled, bounded.
        _ = Poll.blockingHolds(within: .milliseconds(200)) {
            (try? FileManager.default.removeItem(atPath: path)) != nil || !FileManager.default.fileExists(atPath: path)
        }
    }

    /// A path inside the directory.
    func sub(_ name: String) -> String { path + "/" + name }

    /// The names in `directory` (default: this one), sorted, without the store's lock file
    /// `.skfs-locks`, which the first write creates and which stays (see ``hasLockFile(in:)``).
    func names(in directory: String? = nil) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory ?? path)) ?? []).filter { $0 != ".skfs-locks" }.sorted()
    }

    /// True when the store's lock file is in `directory` (default: this one).
    func hasLockFile(in directory: String? = nil) -> Bool {
        FileManager.default.fileExists(atPath: (directory ?? path) + "/.skfs-locks")
    }

    /// The session files in the directory: its names without the store's dot files
    /// (temporary and spare files).
    func sessionFiles(in directory: String? = nil) -> [String] {
        names(in: directory).filter { !$0.hasPrefix(".") }
    }

    /// The permission bits of a path, without following a final link.
    func mode(_ path: String) -> Int {
        var info = stat()
        guard lstat(path, &info) == 0 else { return -1 }
        return Int(info.st_mode) & 0o7777
    }
}

/// Values that say who wrote them, as the writer tool makes them (see its main.swift).
enum WriterValue {
    static func make(writer: Int, round: Int) -> [UInt8] {
        let letter = Character(UnicodeScalar(UInt8(ascii: "a") + UInt8((writer &+ round) % 26)))
        return Array("{\"w\":\(writer),\"r\":\(round),\"pad\":\"\(String(repeating: letter, count: 8000))\"}".utf8)
    }

    static func parse(_ bytes: [UInt8]) -> (writer: Int, round: Int)? {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: ",", maxSplits: 2)
        guard parts.count == 3, parts[0].hasPrefix("{\"w\":"), parts[1].hasPrefix("\"r\":"),
            let writer = Int(parts[0].dropFirst(5)), let round = Int(parts[1].dropFirst(4))
        else { return nil }
        return make(writer: writer, round: round) == bytes ? (writer, round) : nil
    }
}

/// The `SessionKitFilesystemWriter` tool that SwiftPM builds next to the test bundle.
enum FilesystemWriterTool {
    static func path() throws -> String {
        try HelperTool.path(of: "SessionKitFilesystemWriter", override: "SESSIONKIT_FS_WRITER")
    }

    /// A running writer with its standard output on a pipe.
    final class Child: @unchecked Sendable {
        let process = Process()
        let output = Pipe()

        init(_ arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: try FilesystemWriterTool.path())
            process.arguments = arguments
            process.standardOutput = output
            process.standardError = output
            try process.run()
        }

        /// Reads standard output until `line` appears (or the pipe closes), on a thread of its
        /// own (see ``runBlocking(_:)``).
        func waitForLine(_ line: String) async -> Bool {
            let output = self.output
            return (try? await runBlocking { Self.readUntil(line, from: output) }) ?? false
        }

        private static func readUntil(_ line: String, from output: Pipe) -> Bool {
            var seen = ""
            let handle = output.fileHandleForReading
            while true {
                let data = handle.availableData
                if data.isEmpty { return false }
                seen += String(decoding: data, as: UTF8.self)
                if seen.split(separator: "\n").contains(Substring(line)) { return true }
            }
        }

        /// Waits for the exit and returns the status and the whole output.
        func finish() async -> (status: Int32, output: String) {
            let process = self.process, output = self.output
            let data = (try? await runBlocking {
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return data
            }) ?? Data()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
    }
}

/// Runs a command line tool and returns its exit status and output.
@discardableResult
func runTool(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    let pipe = Pipe()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
