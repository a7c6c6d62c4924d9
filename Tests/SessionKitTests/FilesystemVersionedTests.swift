import Foundation
@testable import SessionKit
import SessionKitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Conditional saves of the filesystem store (`VersionedSessionStore`) and the changed-keys
/// save mode on it, within one process and across processes.
@Suite("FilesystemSessionStore conditional saves")
struct FilesystemVersionedTests {
    enum Mode: String, CaseIterable, Sendable {
        case durable, fast, synchronous, plainRenames
    }

    static func makeStore(_ dir: FilesystemTestDirectory, _ mode: Mode, clock: SessionClock = .system) throws -> FilesystemSessionStore {
        let durability: FilesystemSessionStore.Durability = switch mode {
        case .fast: .fast
        case .synchronous: .synchronous
        case .durable, .plainRenames: .durable
        }
        let store = try FilesystemSessionStore(directory: dir.path, durability: durability, clock: clock)
        if mode == .plainRenames { store.exchangeAvailable.store(false, ordering: .relaxed) }
        return store
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    // MARK: Contract

    @Test(arguments: Mode.allCases)
    func savesOnlyWhileTheVersionHolds(_ mode: Mode) async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try Self.makeStore(dir, mode)
        #expect(try await store.loadVersioned(key: "k") == nil)

        try await store.save(key: "k", value: Self.bytes("a"), ttl: 600)
        let (value, version) = try #require(try await store.loadVersioned(key: "k"))
        #expect(value == Self.bytes("a"))
        // Unchanged: succeeds.
        #expect(try await store.save(key: "k", value: Self.bytes("b"), ttl: 600, ifVersion: version))
        #expect(try await store.load(key: "k") == Self.bytes("b"))
        // Changed since the version was read: refused, nothing written.
        #expect(try await store.save(key: "k", value: Self.bytes("c"), ttl: 600, ifVersion: version) == false)
        #expect(try await store.load(key: "k") == Self.bytes("b"))
        // Changed by another writer: refused.
        let (_, second) = try #require(try await store.loadVersioned(key: "k"))
        try await store.save(key: "k", value: Self.bytes("d"), ttl: 600)
        #expect(try await store.save(key: "k", value: Self.bytes("e"), ttl: 600, ifVersion: second) == false)
        #expect(try await store.load(key: "k") == Self.bytes("d"))
        // Deleted since: refused, and the entry is not brought back.
        let (_, third) = try #require(try await store.loadVersioned(key: "k"))
        try await store.delete(key: "k")
        #expect(try await store.save(key: "k", value: Self.bytes("f"), ttl: 600, ifVersion: third) == false)
        #expect(try await store.load(key: "k") == nil)
        #expect(dir.sessionFiles().isEmpty)
        // A key that never existed is never created.
        #expect(try await store.save(key: "new", value: Self.bytes("g"), ttl: 600, ifVersion: third) == false)
        #expect(dir.sessionFiles().isEmpty)
    }

    @Test func aRefreshKeepsTheVersionAndExpiryEndsIt() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let time = ManualClock()
        let store = try Self.makeStore(dir, .durable, clock: time.clock)
        try await store.save(key: "k", value: Self.bytes("a"), ttl: 10)
        let (_, version) = try #require(try await store.loadVersioned(key: "k"))
        time.advance(by: 5)
        #expect(try await store.touch(key: "k", ttl: 10))
        #expect(try await store.save(key: "k", value: Self.bytes("b"), ttl: 10, ifVersion: version), "a refresh is not a change")

        let (_, current) = try #require(try await store.loadVersioned(key: "k"))
        time.advance(by: 11)
        #expect(try await store.save(key: "k", value: Self.bytes("c"), ttl: 10, ifVersion: current) == false, "an expired entry no longer exists")
        #expect(try await store.load(key: "k") == nil)
    }

    @Test func refusesForeignVersionsAndOversizedValues() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path, maximumValueBytes: 16)
        try await store.save(key: "k", value: Self.bytes("a"), ttl: 600)
        let (_, version) = try #require(try await store.loadVersioned(key: "k"))
        #expect(try await store.save(key: "k", value: Self.bytes("b"), ttl: 600, ifVersion: SessionStoreVersion(token: 1)) == false)
        let error = await #expect(throws: SessionError.self) {
            try await store.save(key: "k", value: [UInt8](repeating: 1, count: 17), ttl: 600, ifVersion: version)
        }
        #expect(error?.code == .valueTooLarge)
        #expect(try await store.load(key: "k") == Self.bytes("a"))
        await #expect(throws: SessionError.self) { try await store.save(key: "../x", value: [1], ttl: 600, ifVersion: version) }
    }

    /// A deleter that takes no lock (an older SessionKit, `rm`) removes the file between the
    /// check and the swap: the exchange finds no file and the entry stays deleted.
    @Test func anUnlockedDeleteBetweenCheckAndSwapIsNotUndone() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        try #require(FilesystemSessionStore.renameat2 != nil, "needs RENAME_EXCHANGE")
        try await store.save(key: "k", value: Self.bytes("a"), ttl: 600)
        let name = try store.fileName(forKey: "k")
        let path = try store.path(forKey: "k")
        let written = try await store.pool.run { () throws(SessionError) in
            try store.writeAtomically(name: name, key: Array("k".utf8), contents: FilesystemEntryFormat.encode(ttl: 600, value: Self.bytes("b"), key: Array("k".utf8)), lockHeld: false, onlyIfPresent: true) {
                unlink(path) == 0
            }
        }
        #expect(written == false)
        #expect(try await store.load(key: "k") == nil)
        #expect(dir.sessionFiles().isEmpty)
    }

    // MARK: The lock

    @Test func everyWriteTakesTheKeysLock() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path, durability: .fast)
        #expect(!dir.hasLockFile(), "opening the store creates nothing")
        try await store.save(key: "k", value: Self.bytes("a"), ttl: 600)
        try await store.save(key: "other", value: Self.bytes("x"), ttl: 600)
        #expect(dir.hasLockFile())
        #expect(dir.mode(dir.sub(".skfs-locks")) == 0o600)
        #expect(FilesystemSessionStore.lockOffset(forKey: Array("k".utf8)) != FilesystemSessionStore.lockOffset(forKey: Array("other".utf8)))

        // Holding k's lock (as another process would) holds up a save and a delete of k ...
        let held = try #require(try store.lockKey(Array("k".utf8), wait: false))
        #expect(try store.lockKey(Array("k".utf8), wait: false) == nil, "a second open of the lock file is excluded too")
        let save = Task { try await store.save(key: "k", value: Self.bytes("b"), ttl: 600) }
        // ... but not a save of another key.
        try await store.save(key: "other", value: Self.bytes("y"), ttl: 600)
        // The save of k is blocked in the kernel on k's lock: /proc/locks lists it as a waiter.
        try await Poll.until("the save of k waits on k's lock") {
            Self.lockWaiters(lockFile: dir.sub(".skfs-locks"), offset: FilesystemSessionStore.lockOffset(forKey: Array("k".utf8))) > 0
        }
        #expect(try await store.load(key: "k") == Self.bytes("a"), "the save of k waits for the lock")
        close(held)
        try await save.value
        #expect(try await store.load(key: "k") == Self.bytes("b"))

        // Prune keeps the lock file.
        _ = try await store.prune(staleTemporaryFileAge: 0)
        #expect(dir.hasLockFile())
    }

    /// How many lock requests are blocked (waiting) on the byte at `offset` of `lockFile`:
    /// /proc/locks lists each as `N: -> OFDLCK ADVISORY WRITE -1 MAJ:MIN:INODE START END`.
    static func lockWaiters(lockFile: String, offset: Int64) -> Int {
        var info = stat()
        guard stat(lockFile, &info) == 0, let table = ProcFile.text("/proc/locks") else { return 0 }
        return table.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 8, fields[1] == "->" else { return false }
            let device = fields[6].split(separator: ":")
            return device.count == 3 && UInt64(device[2]) == UInt64(info.st_ino) && Int64(fields[7]) == offset
        }.count
    }

    @Test(arguments: [Mode.durable, Mode.fast])
    func concurrentIncrementsInOneProcessAreNotLost(_ mode: Mode) async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        // Two stores on one directory, as two processes would have.
        let stores = [try Self.makeStore(dir, mode), try Self.makeStore(dir, mode)]
        try await stores[0].save(key: "counter", value: Self.bytes("0"), ttl: 600)
        let tasks = 8, increments = 25
        let conflicts = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<tasks {
                let store = stores[task % 2]
                group.addTask {
                    var conflicts = 0
                    for _ in 0..<increments {
                        while true {
                            let (bytes, version) = try #require(try await store.loadVersioned(key: "counter"))
                            let count = try #require(Int(String(decoding: bytes, as: UTF8.self)))
                            if try await store.save(key: "counter", value: Self.bytes(String(count + 1)), ttl: 600, ifVersion: version) { break }
                            conflicts += 1
                        }
                    }
                    return conflicts
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(try await stores[1].load(key: "counter") == Self.bytes(String(tasks * increments)), "after \(conflicts) conflicts")
    }

    // MARK: Across processes

    @Test func conditionalIncrementsInSeveralProcessesAreNotLost() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        try await store.save(key: "mp:counter", value: Self.bytes("0"), ttl: 600)
        let processes = 4, tasks = 2, increments = 40
        let children = try (0..<processes).map { _ in
            try FilesystemWriterTool.Child(["increment", dir.path, "mp:counter", "\(increments)", "\(tasks)"])
        }
        var conflicts: [String] = []
        for (p, child) in children.enumerated() {
            let (status, output) = await child.finish()
            #expect(status == 0, "process \(p): \(output)")
            #expect(output.contains("ok conflicts="), "process \(p): \(output)")
            conflicts.append(output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let total = processes * tasks * increments
        #expect(try await store.load(key: "mp:counter") == Self.bytes(String(total)), "no increment lost (\(conflicts))")
        print("conditionalIncrementsInSeveralProcessesAreNotLost: \(total) increments, \(conflicts)")
    }

    // MARK: Changed-keys save mode

    static func interface(_ dir: FilesystemTestDirectory, _ saveMode: SessionConfiguration.SaveMode) throws -> FilesystemSessionInterface {
        var config = SessionConfiguration.default
        config.saveMode = saveMode
        return try FilesystemSessionInterface(configuration: config, directory: dir.path)
    }

    @Test func changedKeysSavesKeepEveryChange() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let middleware = try SessionMiddleware(Self.interface(dir, .changedKeys))
        #expect(try await LostUpdateCheck.lostChanges(middleware: middleware, pairs: 30) == 0)
    }

    @Test func wholeSessionSavesLoseOverlappingChanges() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let middleware = try SessionMiddleware(Self.interface(dir, .wholeSession))
        #expect(try await LostUpdateCheck.lostChanges(middleware: middleware, pairs: 30) == 30, "each pair loses exactly the earlier request's key")
    }

    @Test func changedKeysDoesNotResurrectASessionDeletedMeanwhile() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let interface = try Self.interface(dir, .changedKeys)
        let middleware = try SessionMiddleware(interface)
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["user"] = "ada" }
        let id = try #require(browser.cookies["session"])
        let response = try await middleware.handle(cookieHeaders: browser.cookieHeaders) { context in
            let session = try await context.session()
            try await interface.store.delete(key: "session:\(id)")  // a logout in another request
            session["cart"] = "book"
        }
        #expect(response.setCookies.first?.contains("Max-Age=0") == true)
        #expect(try await interface.store.load(key: "session:\(id)") == nil)
        #expect(dir.sessionFiles().isEmpty)
    }
}
