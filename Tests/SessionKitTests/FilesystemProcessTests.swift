import Foundation
import SessionKit
import SessionKitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The filesystem store shared by several processes, killed mid-write, and out of space.
/// These tests spawn the `SessionKitFilesystemWriter` tool.
@Suite("FilesystemSessionStore across processes")
struct FilesystemProcessTests {
    @Test func concurrentWritersInSeveralProcesses() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        let writers = 4, rounds = 60
        let children = try (0..<writers).map { w in
            try FilesystemWriterTool.Child(["write", dir.path, "\(w)", "\(rounds)"])
        }
        // Meanwhile this process reads the key they all write: always one whole value.
        var reads = 0
        while children.contains(where: { $0.process.isRunning }) {
            if let shared = try await store.load(key: "mp:shared") {
                #expect(WriterValue.parse(shared) != nil, "a torn read of \(shared.count) bytes")
                reads += 1
            }
            try await Pace.pause(.milliseconds(1))  // the reader's pace while the writers run
        }
        for (w, child) in children.enumerated() {
            let (status, output) = await child.finish()
            #expect(status == 0, "writer \(w): \(output)")
            #expect(output.contains("ok \(w)"))
            #expect(try await store.load(key: "mp:own\(w)") == WriterValue.make(writer: w, round: rounds - 1))
        }
        let shared = try #require(try await store.load(key: "mp:shared"))
        #expect(WriterValue.parse(shared)?.round == rounds - 1, "the last write of some writer")
        #expect(try await store.list(prefix: "mp:") == ["own0", "own1", "own2", "own3", "shared"])
        // The writers' spare files (temporary names) are all that is left besides the sessions,
        // and prune removes them once they are stale.
        #expect(dir.names().filter { $0.hasPrefix(".") }.allSatisfy { $0.hasPrefix(".skfs-") && $0.hasSuffix(".tmp") })
        _ = try await store.prune(staleTemporaryFileAge: 0)
        #expect(dir.names() == dir.sessionFiles())
    }

    @Test func writersKilledMidWriteLeaveAWholeSession() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        var generator = SystemRandomNumberGenerator()
        for attempt in 0..<4 {
            let child = try FilesystemWriterTool.Child(["loop", dir.path, "crash:k"])
            #expect(await child.waitForLine("ready"), "attempt \(attempt): the writer started")
            try await Pace.pause(.milliseconds(Int.random(in: 5...60, using: &generator)))  // a random moment to kill at
            kill(child.process.processIdentifier, SIGKILL)
            _ = await child.finish()
            let value = try #require(try await store.load(key: "crash:k"))
            #expect(WriterValue.parse(value) != nil, "attempt \(attempt): the session is one whole write")
        }
        // Whatever temporary files the kills left are cleaned up by prune.
        _ = try await store.prune(staleTemporaryFileAge: 0)
        #expect(dir.names() == ["sessionkit_crash:k.session"])
    }

    /// Disk full, shown on a real 256 KiB tmpfs when the tests may mount one (as root, as on
    /// CI), otherwise with a file size limit.
    @Test func diskFullKeepsThePreviousSession() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let mountPoint = dir.sub("small")
        #expect(mkdir(mountPoint, 0o700) == 0)
        let mount = ["/bin/mount", "/usr/bin/mount", "/sbin/mount"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let mounted = geteuid() == 0 && mount != nil
            && (try? runTool(mount!, ["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", mountPoint]).status) == 0
        guard mounted else {
            print("diskFullKeepsThePreviousSession: cannot mount a tmpfs here, checking with a file size limit instead")
            try await fileSizeLimitKeepsThePreviousSession()
            return
        }
        defer { _ = try? runTool((mount! as NSString).deletingLastPathComponent + "/umount", ["-l", mountPoint]) }
        let store = try FilesystemSessionStore(directory: mountPoint)
        let old = Array(#"{"user":"ada"}"#.utf8)
        try await store.save(key: "k", value: old, ttl: 600)
        let error = await #expect(throws: SessionError.self) {
            try await store.save(key: "k", value: [UInt8](repeating: UInt8(ascii: "x"), count: 600_000), ttl: 600)
        }
        #expect(error?.code == .storeFailure)
        #expect(error?.message.contains("ENOSPC") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(mountPoint + "/sessionkit_k.session") == true)
        #expect(error?.message.contains("previous session is unchanged") == true)
        #expect(try await store.load(key: "k") == old)
        #expect(dir.names(in: mountPoint) == ["sessionkit_k.session"], "the partial temporary file was removed")

        // A file system turned read-only: a clear error, the session still readable.
        #expect(try runTool(mount!, ["-o", "remount,ro", mountPoint]).status == 0)
        let readOnly = await #expect(throws: SessionError.self) { try await store.save(key: "k", value: [1], ttl: 600) }
        #expect(readOnly?.message.contains("EROFS") == true)
        #expect(try await store.load(key: "k") == old)
    }

    @Test func fileSizeLimitKeepsThePreviousSession() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        let old = Array(#"{"user":"ada"}"#.utf8)
        try await store.save(key: "k", value: old, ttl: 600)
        let child = try FilesystemWriterTool.Child(["fill", dir.path, "k", "65536"])
        let (status, output) = await child.finish()
        #expect(status == 0, "\(output)")
        #expect(output.contains("code=storeFailure"))
        #expect(output.contains("EFBIG"))
        #expect(output.contains(dir.path + "/sessionkit_k.session"))
        #expect(output.contains("previous session is unchanged"))
        #expect(try await store.load(key: "k") == old)
        #expect(dir.names() == ["sessionkit_k.session"], "the partial temporary file was removed")
    }
}
