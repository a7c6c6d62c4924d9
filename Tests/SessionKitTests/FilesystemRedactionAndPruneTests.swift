import Foundation
@testable import SessionKit
import SessionKitTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("FilesystemSessionStore: redacted messages and prune races")
struct FilesystemRedactionAndPruneTests {
    /// A well-formed session ID (43 base64url characters).
    static let id = "Zq3Xk9PbT7wR2mN5vL8cJ4hF6dS1aG0yU-_eWoIiQtE"

    static func expectRedacted(_ error: SessionError?, _ directory: String, _ what: String,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error else { Issue.record("\(what): no error", sourceLocation: sourceLocation); return }
        #expect(!error.message.contains(id), "\(what) shows the session ID: \(error.message)", sourceLocation: sourceLocation)
        #expect(!error.message.contains(id.dropFirst(4).prefix(8)), "\(what) shows part of the ID beyond its first 4 characters: \(error.message)", sourceLocation: sourceLocation)
        #expect(error.message.contains(directory), "\(what) names the directory: \(error.message)", sourceLocation: sourceLocation)
        #expect(error.message.contains("session:" + id.prefix(4) + "…"), "\(what) names the redacted key: \(error.message)", sourceLocation: sourceLocation)
    }

    @Test func errorMessagesNameTheDirectoryAndARedactedKeyNeverTheID() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path, maximumValueBytes: 1000)
        let key = "session:" + Self.id
        try await store.save(key: key, value: [1], ttl: 600)

        let tooLarge = await #expect(throws: SessionError.self) {
            try await store.save(key: key, value: [UInt8](repeating: 2, count: 1001), ttl: 600)
        }
        #expect(tooLarge?.code == .valueTooLarge)
        Self.expectRedacted(tooLarge, dir.path, "valueTooLarge on save")

        // The failures of system calls, ENOSPC first, as the store reports them.
        let name = try store.fileName(forKey: key)
        for code in [ENOSPC, EDQUOT, EFBIG, EACCES, EROFS, ENOENT, ELOOP, EIO] {
            Self.expectRedacted(store.failure("save", store.displayPath(name), code, unchanged: true), dir.path, FilesystemSessionStore.errnoName(code))
        }

        // A file grown behind the store's back.
        let grown = FilesystemEntryFormat.encode(ttl: nil, value: [UInt8](repeating: 3, count: 5000), key: Array(key.utf8))
        #expect(FileManager.default.createFile(atPath: try store.path(forKey: key), contents: Data(grown)))
        let grownError = await #expect(throws: SessionError.self) { _ = try await store.load(key: key) }
        #expect(grownError?.code == .valueTooLarge)
        Self.expectRedacted(grownError, dir.path, "valueTooLarge on load")

        // A symbolic link planted under the session's name.
        #expect(unlink(try store.path(forKey: key)) == 0)
        #expect(symlink(dir.sub("elsewhere"), try store.path(forKey: key)) == 0)
        let link = await #expect(throws: SessionError.self) { _ = try await store.load(key: key) }
        Self.expectRedacted(link, dir.path, "symbolic link")

        // A near-miss key (an ID with one bad character) is not shown whole either.
        let bad = await #expect(throws: SessionError.self) { _ = try await store.load(key: key + "/") }
        #expect(bad?.code == .invalidKey)
        #expect(bad.map { !$0.message.contains(Self.id) } == true, "\(bad?.message ?? "")")

        #expect(FilesystemSessionStore.redactedKey(Array("k".utf8)) == "k")
        #expect(FilesystemSessionStore.redactedKey(Array("app:session:abcdef".utf8)) == "app:session:abcd…")
    }

    @Test func aDiskErrorInAnotherProcessDoesNotShowTheID() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let key = "session:" + Self.id
        let store = try FilesystemSessionStore(directory: dir.path)
        try await store.save(key: key, value: Array(#"{"user":"ada"}"#.utf8), ttl: 600)
        let child = try FilesystemWriterTool.Child(["fill", dir.path, key, "65536"])
        let (status, output) = await child.finish()
        #expect(status == 0, "\(output)")
        #expect(output.contains("EFBIG"))
        #expect(!output.contains(Self.id), "\(output)")
        #expect(output.contains(dir.path + "/sessionkit_session:" + Self.id.prefix(4) + "….session"), "\(output)")
    }

    /// Prune running over and over while writers make each session expired, then live, then
    /// delete it: a session deleted while prune ran must stay deleted, and a session that is
    /// only ever saved live must stay.
    @Test func pruneNeverBringsBackADeletedSession() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path, durability: .fast)
        let churned = (0..<12).map { "session:churn\($0)" }
        let kept = (0..<4).map { "session:kept\($0)" }
        for key in kept { try await store.save(key: key, value: [9], ttl: 600) }
        let writersDone = DoneFlag()
        let rounds = 300
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var prunes = 0
                while !writersDone.value.load(ordering: .acquiring) && prunes < 100_000 {
                    _ = try await store.prune(staleTemporaryFileAge: 3600)
                    prunes += 1
                }
            }
            group.addTask {
                try await withThrowingTaskGroup(of: Void.self) { writers in
                    for key in churned {
                        writers.addTask {
                            for round in 0..<rounds {
                                try await store.save(key: key, value: [1], ttl: 0)          // expired at once
                                try await store.save(key: key, value: [2], ttl: 600)        // live again
                                try await store.delete(key: key)
                                if round % 50 == 0 { await Task.yield() }
                            }
                        }
                    }
                    for key in kept {
                        writers.addTask {
                            for _ in 0..<rounds { try await store.save(key: key, value: [9], ttl: 600) }
                        }
                    }
                    try await writers.waitForAll()
                }
                writersDone.value.store(true, ordering: .releasing)
            }
            try await group.waitForAll()
        }
        _ = try await store.prune(staleTemporaryFileAge: 3600)
        for key in churned {
            #expect(try await store.load(key: key) == nil, "\(key) was deleted last, yet it is back")
        }
        for key in kept {
            #expect(try await store.load(key: key) == [9], "\(key) was only ever saved live")
        }
        #expect(Set(dir.sessionFiles()) == Set(kept.map { "sessionkit_\($0).session" }))
    }

    @Test func pruneRemovesOnlyTheFileItChecked() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let time = ManualClock()
        let store = try FilesystemSessionStore(directory: dir.path, clock: time.clock)
        let key = Array("k".utf8)
        let name = try store.fileName(forKey: "k")
        try await store.save(key: "k", value: [1], ttl: 10)
        time.advance(by: 11)
        // Deleted after prune saw it expired: nothing to remove, nothing comes back.
        #expect(try store.inspect(name: name, key: key, now: time.now) == .expired)
        try await store.delete(key: "k")
        #expect(try store.removeIfExpired(name: name, key: key, now: time.now) == false)
        #expect(dir.sessionFiles().isEmpty)
        // Replaced by a live save after prune saw it expired: kept.
        try await store.save(key: "k", value: [1], ttl: 10)
        time.advance(by: 11)
        #expect(try store.inspect(name: name, key: key, now: time.now) == .expired)
        try await store.save(key: "k", value: [2], ttl: 600)
        #expect(try store.removeIfExpired(name: name, key: key, now: time.now) == false)
        #expect(try await store.load(key: "k") == [2])
    }
}

private final class DoneFlag: Sendable {
    let value = Atomic<Bool>(false)
}
