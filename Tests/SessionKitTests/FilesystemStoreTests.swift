import Foundation
@testable import SessionKit
import SessionKitTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("FilesystemSessionStore")
struct FilesystemStoreTests {
    /// Runs a conformance check on a store of its own, whose expiry runs on a clock the check
    /// moves.
    static func run(_ check: StoreConformanceCheck, _ durability: FilesystemSessionStore.Durability, exchange: Bool = true) async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let clock = ManualClock()
        let store = try FilesystemSessionStore(directory: dir.sub("sessions"), durability: durability, clock: clock.clock)
        store.exchangeAvailable.store(exchange && FilesystemSessionStore.renameat2 != nil, ordering: .relaxed)
        try await check.run(store, time: .manual(clock))
    }

    static let id = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

    // MARK: Contract

    /// Every store mode passes every check.
    static let syncedChecks = StoreConformance.checks

    @Test(arguments: syncedChecks)
    func conformance(_ check: StoreConformanceCheck) async throws {
        try await Self.run(check, .durable)
    }

    @Test(arguments: StoreConformance.checks)
    func conformanceInFastMode(_ check: StoreConformanceCheck) async throws {
        try await Self.run(check, .fast)
    }

    @Test(arguments: syncedChecks)
    func conformanceInSynchronousMode(_ check: StoreConformanceCheck) async throws {
        try await Self.run(check, .synchronous)
    }

    @Test(arguments: syncedChecks)
    func conformanceWithPlainRenames(_ check: StoreConformanceCheck) async throws {
        // As on a file system that refuses RENAME_EXCHANGE: a new file per save.
        try await Self.run(check, .durable, exchange: false)
    }

    @Test func savesReuseTheInodesOfReplacedFiles() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        func inode(_ key: String) throws -> UInt {
            var info = stat()
            #expect(stat(try store.path(forKey: key), &info) == 0)
            return UInt(info.st_ino)
        }
        try await store.save(key: "a", value: [1], ttl: 60)
        let first = try inode("a")
        try await store.save(key: "a", value: [2], ttl: 60)
        #expect(try inode("a") != first)
        #expect(dir.names().count == 2, "the replaced file waits under a spare name: \(dir.names())")
        try await store.save(key: "b", value: [3], ttl: 60)
        #expect(try inode("b") == first, "the spare's inode was rewritten for the next save")
        #expect(dir.names().count == 2)
        #expect(try await store.load(key: "a") == [2])
        #expect(try await store.load(key: "b") == [3])
        #expect(dir.mode(try store.path(forKey: "b")) == 0o600)
    }

    // MARK: Format and permissions

    @Test func fileNameFormatAndPermissions() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let sessions = dir.sub("a/b/sessions")
        let store = try FilesystemSessionStore(directory: sessions)
        #expect(dir.mode(sessions) == 0o700, "a created directory is private")
        #expect(dir.mode(dir.sub("a")) == 0o700, "created parents are private too")
        let key = "session:" + Self.id
        try await store.save(key: key, value: Array(#"{"user":"ada"}"#.utf8), ttl: 3600)
        let file = sessions + "/sessionkit_session:\(Self.id).session"
        #expect(try store.path(forKey: key) == file)
        #expect(dir.names(in: sessions) == ["sessionkit_session:\(Self.id).session"], "no temporary file is left behind")
        #expect(dir.mode(file) == 0o600, "session files are readable by their owner only")
        let contents = try String(contentsOfFile: file, encoding: .utf8)
        let sum = Array(#"{"user":"ada"}"#.utf8).withUnsafeBytes { FilesystemEntryFormat.checksum($0) }
        #expect(contents == "sessionkit-fs/1 ttl=3600 len=14 sum=\(String(format: "%016llx", sum)) key=\(key)\n{\"user\":\"ada\"}")
        try await store.save(key: key, value: Array("{}".utf8), ttl: nil)
        let permanent = try String(contentsOfFile: file, encoding: .utf8)
        #expect(permanent.hasPrefix("sessionkit-fs/1 ttl=never len=2 sum="))
        #expect(permanent.hasSuffix(" key=\(key)\n{}"))
        #expect(dir.sessionFiles(in: sessions) == ["sessionkit_session:\(Self.id).session"])
        #expect(dir.mode(file) == 0o600)
    }

    @Test func modeIsExactWhateverTheUmask() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path, mode: 0o640)
        let old = umask(0o077)
        defer { umask(old) }
        try await store.save(key: "k", value: [1], ttl: 60)
        #expect(dir.mode(try store.path(forKey: "k")) == 0o640)
    }

    @Test func defaultDirectoryIsPerUserAndPrivate() async throws {
        let expected = (ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp")
        #expect(FilesystemSessionStore.defaultDirectory.hasPrefix(expected.hasSuffix("/") ? String(expected.dropLast()) : expected))
        #expect(FilesystemSessionStore.defaultDirectory.hasSuffix("/sessionkit-\(geteuid())"))
        let store = try FilesystemSessionStore()
        #expect(store.directory == FilesystemSessionStore.defaultDirectory)
        var info = stat()
        #expect(lstat(store.directory, &info) == 0)
        #expect(Int(info.st_mode) & 0o077 == 0)
    }

    @Test(arguments: [0o777, 0o770, 0o707, 0o1777, 0o720])
    func refusesDirectoriesWritableByOthers(_ mode: Int) throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let shared = dir.sub("shared")
        #expect(mkdir(shared, 0o700) == 0)
        #expect(chmod(shared, mode_t(mode)) == 0)
        let error = #expect(throws: SessionError.self) { try FilesystemSessionStore(directory: shared) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(shared) == true)
        #expect(error?.message.contains("writable by") == true)
        #expect(error?.message.contains("chmod 700") == true)
    }

    @Test func refusesADirectoryThatIsALinkOrAFile() throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let real = dir.sub("real")
        #expect(mkdir(real, 0o700) == 0)
        #expect(symlink(real, dir.sub("link")) == 0)
        let link = #expect(throws: SessionError.self) { try FilesystemSessionStore(directory: dir.sub("link")) }
        #expect(link?.code == .invalidConfiguration)
        #expect(link?.message.contains("symbolic link") == true)
        _ = FileManager.default.createFile(atPath: dir.sub("file"), contents: Data())
        let file = #expect(throws: SessionError.self) { try FilesystemSessionStore(directory: dir.sub("file")) }
        #expect(file?.message.contains("not a directory") == true)
    }

    @Test(.enabled(if: geteuid() == 0, "only root can give a directory to another user; run the tests as root (as CI does) to check this"))
    func refusesAnotherUsersDirectory() throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let other = dir.sub("other")
        #expect(mkdir(other, 0o700) == 0)
        #expect(chown(other, 12345, 12345) == 0)
        let error = #expect(throws: SessionError.self) { try FilesystemSessionStore(directory: other) }
        #expect(error?.message.contains("belongs to uid 12345") == true)
    }

    @Test(arguments: ["no-marker", "a%sb%s", "../%s", "dir/%s", ".hidden_%s", "%d_%s", "100%_%s", String(repeating: "x", count: 60) + "%s"])
    func refusesBadTemplates(_ template: String) throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let error = #expect(throws: SessionError.self) { try FilesystemSessionStore(directory: dir.path, filenameTemplate: template) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("filenameTemplate") == true)
    }

    @Test(arguments: [0o644 | 0o022, 0o400, 0o666, 0o4600, 0o602])
    func refusesUnsafeModes(_ mode: Int) throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let error = #expect(throws: SessionError.self) { try FilesystemSessionStore(directory: dir.path, mode: mode) }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test func customTemplateAndBareKeys() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path, filenameTemplate: "%s")
        try await store.save(key: "session:abc.def", value: [7], ttl: 60)
        #expect(dir.names() == ["session:abc.def"])
        #expect(try await store.load(key: "session:abc.def") == [7])
    }

    // MARK: Keys and paths

    static let hostileKeys = [
        "../etc/passwd", "a/b", "/abs", "..", ".", ".hidden", "a\u{0}b", "session:..", "session:../x", "", "a b", "ü",
        "%s", "a\\b", "a\nb", "~root", "$HOME", String(repeating: "k", count: 201),
    ]

    @Test(arguments: hostileKeys)
    func keysThatCouldFormAnotherPathAreRefused(_ key: String) async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let sessions = dir.sub("sessions")
        let store = try FilesystemSessionStore(directory: sessions)
        for operation in ["save", "load", "loadAndTouch", "touch", "delete", "path"] {
            let error = await #expect(throws: SessionError.self, "\(operation) \(key.debugDescription)") {
                switch operation {
                case "save": try await store.save(key: key, value: [1], ttl: 60)
                case "load": _ = try await store.load(key: key)
                case "loadAndTouch": _ = try await store.loadAndTouch(key: key, ttl: 60)
                case "touch": _ = try await store.touch(key: key, ttl: 60)
                case "delete": try await store.delete(key: key)
                default: _ = try store.path(forKey: key)
                }
            }
            #expect(error?.code == .invalidKey)
        }
        #expect(dir.names() == ["sessions"], "nothing was created beside the directory")
        #expect(dir.names(in: sessions).isEmpty)
    }

    @Test func acceptsEveryIDShapeAndThePrefixes() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        for _ in 0..<50 {
            let key = "session:" + (try SessionID.generate())
            try await store.save(key: key, value: [1], ttl: 60)
            #expect(try await store.load(key: key) == [1])
        }
        for key in ["session:0123456789abcdef0123456789abcdef", "sessionprefix:a-b_c", "a.b:c"] {
            try await store.save(key: key, value: [2], ttl: 60)
            #expect(try await store.load(key: key) == [2])
        }
    }

    @Test func neverFollowsASymbolicLinkPlantedInTheDirectory() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let sessions = dir.sub("sessions")
        let store = try FilesystemSessionStore(directory: sessions)
        let key = "session:" + Self.id
        let secret = dir.sub("secret")
        try "sessionkit-fs/1 ttl=never\n{\"admin\":true}".write(toFile: secret, atomically: false, encoding: .utf8)
        #expect(symlink(secret, try store.path(forKey: key)) == 0)

        let read = await #expect(throws: SessionError.self) { try await store.load(key: key) }
        #expect(read?.message.contains("symbolic link") == true)
        #expect(read?.message.contains(sessions + "/sessionkit_session:" + Self.id.prefix(4) + "….session") == true, "the path, with the ID redacted")
        #expect(read?.message.contains(Self.id) == false)
        await #expect(throws: SessionError.self) { try await store.touch(key: key, ttl: 60) }
        #expect(try await store.list().isEmpty, "a link is not listed")

        // A save replaces the link itself; the file it pointed to is untouched.
        try await store.save(key: key, value: Array("{}".utf8), ttl: 60)
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "sessionkit-fs/1 ttl=never\n{\"admin\":true}")
        #expect(try await store.load(key: key) == Array("{}".utf8))
        #expect(dir.mode(try store.path(forKey: key)) == 0o600)

        // Delete removes a link, never its target.
        try await store.delete(key: key)
        #expect(symlink(secret, try store.path(forKey: key)) == 0)
        try await store.delete(key: key)
        #expect(FileManager.default.fileExists(atPath: secret))
        #expect(dir.names(in: sessions).isEmpty)
    }

    @Test func specialFilesAreRefusedWithoutBlocking() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        #expect(mkfifo(try store.path(forKey: "fifo"), 0o600) == 0)
        let error = await #expect(throws: SessionError.self) { try await store.load(key: "fifo") }
        #expect(error?.message.contains("not a regular file") == true)
        #expect(mkdir(try store.path(forKey: "dir"), 0o700) == 0)
        await #expect(throws: SessionError.self) { try await store.load(key: "dir") }
    }

    @Test func filesInAnotherFormatAreIgnoredAndKept() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        let path = try store.path(forKey: "foreign")
        try "(dp0\nS'pickled by secure_cookie'".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try await store.load(key: "foreign") == nil)
        #expect(try await store.touch(key: "foreign", ttl: 60) == false)
        #expect(try await store.list().isEmpty)
        #expect(try await store.prune(staleTemporaryFileAge: 0) == .init())
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func headerParsing() throws {
        let value = Array(#"{"a":1}"#.utf8)
        let file = FilesystemEntryFormat.encode(ttl: 60, value: value, key: Array("session:k".utf8))
        let header = try #require(file.withUnsafeBytes { FilesystemEntryFormat.parseHeader($0) })
        #expect(header.ttl == 60)
        #expect(header.length == value.count)
        #expect(header.key == Array("session:k".utf8))
        #expect(header.checksum == value.withUnsafeBytes { FilesystemEntryFormat.checksum($0) })
        #expect(Array(file[header.size...]) == value)
        let never = FilesystemEntryFormat.encode(ttl: nil, value: [], key: Array("k".utf8))
        #expect(never.withUnsafeBytes { FilesystemEntryFormat.parseHeader($0) }?.ttl == .some(nil))
        let good = "sessionkit-fs/1 ttl=60 len=2 sum=0123456789abcdef key=k\n{}"
        #expect(Array(good.utf8).withUnsafeBytes { FilesystemEntryFormat.parseHeader($0) } != nil)
        for bad in [
            "", "sessionkit-fs/1 ttl=60\n", "sessionkit-fs/1 ttl= len=2 sum=0123456789abcdef key=k\n",
            "sessionkit-fs/1 ttl=6x len=2 sum=0123456789abcdef key=k\n", "sessionkit-fs/2 ttl=60 len=2 sum=0123456789abcdef key=k\n",
            "sessionkit-fs/1 ttl=-5 len=2 sum=0123456789abcdef key=k\n", "sessionkit-fs/1 ttl=60 len=2 sum=0123456789abcdeg key=k\n",
            "sessionkit-fs/1 ttl=60 len=2 sum=0123456789abcde key=k\n", "sessionkit-fs/1 ttl=60 len=2 sum=0123456789abcdef key=k",
            "sessionkit-fs/1 ttl=1234567890123456789 len=2 sum=0123456789abcdef key=k\n",
        ] {
            #expect(Array(bad.utf8).withUnsafeBytes { FilesystemEntryFormat.parseHeader($0) } == nil, "\(bad.debugDescription)")
        }
    }

    @Test func checksumTellsTornValuesApart() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 7, 8, 9, 200, 4096] {
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let sum = bytes.withUnsafeBytes { FilesystemEntryFormat.checksum($0) }
            #expect(sum == bytes.withUnsafeBytes { FilesystemEntryFormat.checksum($0) })
            guard length > 0 else { continue }
            bytes[Int.random(in: 0..<length, using: &generator)] ^= 0x10
            #expect(sum != bytes.withUnsafeBytes { FilesystemEntryFormat.checksum($0) })
        }
        // A shorter body is told apart by the header's `len`, which the reader checks before the
        // sum (the sum alone does not separate every pair of lengths), so torn entries go through
        // the reader's own check.
        for length in [1, 7, 8, 9, 200, 4096] {
            let value = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let entry = FilesystemEntryFormat.encode(ttl: 60, value: value, key: Array("k".utf8))
            #expect(entry.withUnsafeBytes { FilesystemEntryFormat.wholeEntryHeader($0, key: Array("k".utf8)) } != nil)
            #expect(entry.withUnsafeBytes { FilesystemEntryFormat.wholeEntryHeader($0, key: Array("j".utf8)) } == nil)
            for cut in Set([1, length]) {
                let torn = Array(entry.dropLast(cut))
                #expect(torn.withUnsafeBytes { FilesystemEntryFormat.wholeEntryHeader($0, key: Array("k".utf8)) } == nil,
                        "a body \(cut) byte(s) short of \(length) was accepted")
            }
            var flipped = entry
            flipped[flipped.count - 1 - Int.random(in: 0..<length, using: &generator)] ^= 0x10
            #expect(flipped.withUnsafeBytes { FilesystemEntryFormat.wholeEntryHeader($0, key: Array("k".utf8)) } == nil)
        }
        // The case that made a shorter-body check on the sum alone fail 1 run in 256.
        let one = FilesystemEntryFormat.encode(ttl: 60, value: [0x01], key: Array("k".utf8))
        #expect(one.dropLast().withUnsafeBytes { FilesystemEntryFormat.wholeEntryHeader($0, key: Array("k".utf8)) } == nil)
    }

    @Test func aFileBeingRewrittenIsReadAgainNotReturned() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        try await store.save(key: "a", value: Array("AAAA".utf8), ttl: 60)
        let path = try store.path(forKey: "a")
        // A file of another key, a torn value, a wrong length: never returned as the session.
        let other = FilesystemEntryFormat.encode(ttl: 60, value: Array("BBBB".utf8), key: Array("b".utf8))
        var torn = FilesystemEntryFormat.encode(ttl: 60, value: Array("AAAA".utf8), key: Array("a".utf8))
        torn[torn.count - 1] = UInt8(ascii: "B")
        let short = Array(FilesystemEntryFormat.encode(ttl: 60, value: Array("AAAA".utf8), key: Array("a".utf8)).dropLast())
        for contents in [other, torn, short] {
            #expect(FileManager.default.createFile(atPath: path, contents: Data(contents)))
            #expect(try await store.load(key: "a") == nil)
            #expect(try await store.touch(key: "a", ttl: 60) == false)
            #expect(try await store.list().isEmpty)
        }
    }

    // MARK: Expiry, touch, list, prune

    @Test(arguments: [FilesystemSessionStore.Durability.durable, .synchronous, .fast])
    func expiredSessionsAreNeverReturned(_ durability: FilesystemSessionStore.Durability) async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let time = ManualClock()
        let store = try FilesystemSessionStore(directory: dir.path, durability: durability, clock: time.clock)
        try await store.save(key: "k", value: [1], ttl: 10)
        time.advance(by: 9.9)
        #expect(try await store.load(key: "k") == [1])
        time.advance(by: 0.2)
        #expect(try await store.load(key: "k") == nil)
        #expect(try await store.loadAndTouch(key: "k", ttl: 10) == nil)
        #expect(try await store.touch(key: "k", ttl: 10) == false)
        #expect(try await store.list().isEmpty)
        #expect(dir.names().count == 1, "the file waits for prune")
        #expect(try await store.prune().expiredSessions == 1)
        #expect(dir.names().isEmpty)
    }

    @Test(arguments: [FilesystemSessionStore.Durability.durable, .synchronous, .fast])
    func touchMovesTheExpiryWithoutRewriting(_ durability: FilesystemSessionStore.Durability) async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let time = ManualClock()
        let store = try FilesystemSessionStore(directory: dir.path, durability: durability, clock: time.clock)
        try await store.save(key: "same", value: [1], ttl: 10)
        try await store.save(key: "longer", value: [2], ttl: 10)
        try await store.save(key: "shorter", value: [3], ttl: 10)
        var before = stat()
        #expect(stat(try store.path(forKey: "same"), &before) == 0)
        time.advance(by: 8)
        #expect(try await store.touch(key: "same", ttl: 10) == true)
        #expect(try await store.loadAndTouch(key: "longer", ttl: 100) == [2])
        #expect(try await store.touch(key: "shorter", ttl: 3) == true)
        var after = stat()
        #expect(stat(try store.path(forKey: "same"), &after) == 0)
        #expect(before.st_ino == after.st_ino, "a touch with the same TTL keeps the file")
        time.advance(by: 3.5)  // t = 11.5
        #expect(try await store.load(key: "same") == [1])
        #expect(try await store.load(key: "longer") == [2])
        #expect(try await store.load(key: "shorter") == nil)
        time.advance(by: 7)  // t = 18.5
        #expect(try await store.load(key: "same") == nil)
        #expect(try await store.load(key: "longer") == [2])
        time.advance(by: 90)  // t = 108.5
        #expect(try await store.load(key: "longer") == nil)
    }

    @Test func touchBetweenPermanentAndExpiring() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let time = ManualClock()
        let store = try FilesystemSessionStore(directory: dir.path, clock: time.clock)
        try await store.save(key: "p", value: [1], ttl: nil)
        try await store.save(key: "e", value: [2], ttl: 10)
        #expect(try await store.touch(key: "p", ttl: 10) == true)
        #expect(try await store.touch(key: "e", ttl: nil) == true)
        time.advance(by: 1_000_000)
        #expect(try await store.load(key: "p") == nil)
        #expect(try await store.load(key: "e") == [2])
        #expect(try String(contentsOfFile: try store.path(forKey: "e"), encoding: .utf8).hasPrefix("sessionkit-fs/1 ttl=never len=1 "))
    }

    @Test func listReturnsLiveKeysOrIDs() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let time = ManualClock()
        let store = try FilesystemSessionStore(directory: dir.path, clock: time.clock)
        let ids = try (0..<5).map { _ in try SessionID.generate() }
        for id in ids { try await store.save(key: "session:" + id, value: [1], ttl: 100) }
        try await store.save(key: "session:expiring", value: [1], ttl: 10)
        try await store.save(key: "other:x", value: [1], ttl: nil)
        _ = FileManager.default.createFile(atPath: dir.sub("unrelated.txt"), contents: Data("x".utf8))
        _ = FileManager.default.createFile(atPath: dir.sub(".skfs-0123456789abcdef.tmp"), contents: Data("x".utf8))
        time.advance(by: 50)
        #expect(try await store.list() == (ids.map { "session:" + $0 } + ["other:x"]).sorted())
        #expect(try await store.list(prefix: "session:") == ids.sorted())
        #expect(try await store.list(prefix: "other:") == ["x"])
    }

    @Test func pruneRemovesExpiredAndStaleTemporaryFilesOnly() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let time = ManualClock()
        let store = try FilesystemSessionStore(directory: dir.path, clock: time.clock)
        for i in 0..<20 { try await store.save(key: "old\(i)", value: [1], ttl: 10) }
        for i in 0..<5 { try await store.save(key: "live\(i)", value: [2], ttl: 1000) }
        try await store.save(key: "permanent", value: [3], ttl: nil)
        try await store.save(key: "refreshed", value: [4], ttl: 10)
        _ = FileManager.default.createFile(atPath: dir.sub("notes.txt"), contents: Data("keep".utf8))
        _ = FileManager.default.createFile(atPath: dir.sub(".skfs-00000000000000aa.tmp"), contents: Data("partial".utf8))
        time.advance(by: 9)
        #expect(try await store.touch(key: "refreshed", ttl: 10))
        time.advance(by: 2)

        let fresh = try await store.prune()
        #expect(fresh == .init(expiredSessions: 20, staleTemporaryFiles: 0), "a temporary file changed seconds ago may still be written")
        #expect(dir.names().contains(".skfs-00000000000000aa.tmp"))
        let stale = try await store.prune(staleTemporaryFileAge: 0)
        #expect(stale == .init(expiredSessions: 0, staleTemporaryFiles: 1))
        #expect(Set(dir.names()) == Set((0..<5).map { "sessionkit_live\($0).session" } + ["sessionkit_permanent.session", "sessionkit_refreshed.session", "notes.txt"]))
        #expect(try await store.load(key: "refreshed") == [4])
    }

    @Test func prunePutsBackASessionRefreshedWhileItWasBeingRemoved() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let time = ManualClock()
        let store = try FilesystemSessionStore(directory: dir.path, clock: time.clock)
        try await store.save(key: "k", value: [1], ttl: 10)
        let name = try store.fileName(forKey: "k")
        // Expired when prune looked, refreshed (by another process) before it re-checked.
        time.advance(by: 11)
        #expect(try store.inspect(name: name, key: Array("k".utf8), now: time.now) == .expired)
        time.advance(by: -2)
        #expect(try store.removeIfExpired(name: name, key: Array("k".utf8), now: time.now) == false)
        #expect(try await store.load(key: "k") == [1])
        #expect(dir.names() == ["sessionkit_k.session"])
        // Still expired at the second look: removed.
        time.advance(by: 2)
        #expect(try store.removeIfExpired(name: name, key: Array("k".utf8), now: time.now) == true)
        #expect(dir.names().isEmpty)
    }

    @Test func periodicPruningRunsUntilCancelled() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let time = ManualClock()
        let store = try FilesystemSessionStore(directory: dir.path, clock: time.clock)
        try await store.save(key: "k", value: [1], ttl: 10)
        let pruning = Task { await store.prunePeriodically(every: .milliseconds(20)) }
        time.advance(by: 11)
        // The pruner runs every 20 ms of real time (its period is what is under test): polled.
        try await Poll.until("the pruner removes the expired session") { dir.names().isEmpty }
        pruning.cancel()
        await pruning.value
    }

    // MARK: Crashes and failures

    @Test func crashBetweenWriteAndRenameLeavesTheOldSession() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        let key = "session:" + Self.id
        let old = WriterValue.make(writer: 1, round: 1)
        try await store.save(key: key, value: old, ttl: 600)
        // What a writer that died after writing its temporary file, before the rename, leaves.
        let temporary = dir.sub(".skfs-0123456789abcdef.tmp")
        let partial = FilesystemEntryFormat.encode(ttl: 600, value: WriterValue.make(writer: 2, round: 2), key: Array(key.utf8)).prefix(5000)
        _ = FileManager.default.createFile(atPath: temporary, contents: Data(partial), attributes: [.posixPermissions: 0o600])

        #expect(try await store.load(key: key) == old, "readers see the old session")
        #expect(try await store.list() == [key])
        #expect(try await store.prune().staleTemporaryFiles == 0, "a recent temporary file is left to its writer")
        #expect(try await store.prune(staleTemporaryFileAge: 0).staleTemporaryFiles == 1)
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(try await store.load(key: key) == old)
    }

    @Test func oversizedValuesAreRefusedAndThePreviousKept() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path, maximumValueBytes: 1000)
        try await store.save(key: "k", value: [UInt8](repeating: 1, count: 1000), ttl: nil)
        let error = await #expect(throws: SessionError.self) {
            try await store.save(key: "k", value: [UInt8](repeating: 2, count: 1001), ttl: nil)
        }
        #expect(error?.code == .valueTooLarge)
        #expect(error?.message.contains("maximumValueBytes") == true)
        #expect(try await store.load(key: "k") == [UInt8](repeating: 1, count: 1000))
        // A file grown behind the store's back is refused, not read into memory.
        let big = FilesystemEntryFormat.encode(ttl: nil, value: [UInt8](repeating: 3, count: 5000), key: Array("big".utf8))
        _ = FileManager.default.createFile(atPath: try store.path(forKey: "big"), contents: Data(big))
        let tooBig = await #expect(throws: SessionError.self) { try await store.load(key: "big") }
        #expect(tooBig?.code == .valueTooLarge)
    }

    @Test func aRemovedDirectoryIsAClearError() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let sessions = dir.sub("sessions")
        let store = try FilesystemSessionStore(directory: sessions)
        try await store.save(key: "k", value: [1], ttl: 60)
        try FileManager.default.removeItem(atPath: sessions)
        #expect(try await store.load(key: "k") == nil)
        let error = await #expect(throws: SessionError.self) { try await store.save(key: "k", value: [2], ttl: 60) }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains(sessions) == true)
        #expect(error?.message.contains("no longer exists") == true)
        #expect(error?.message.contains("ENOENT") == true)
    }

    /// Permission errors need a user without root's privilege to bypass permission bits. As
    /// root (as on CI), the check runs in a child process that has become `nobody`, in a
    /// directory given to it; otherwise the child keeps the test's own user.
    @Test func permissionDeniedNamesThePathAndKeepsTheSession() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let sessions = dir.sub("sessions")
        #expect(mkdir(sessions, 0o700) == 0)
        var identity = "-"
        if geteuid() == 0 {
            let nobody = try #require(getpwnam("nobody"), "root must drop its privilege to see a permission error, and this machine has no user nobody")
            let (uid, gid) = (nobody.pointee.pw_uid, nobody.pointee.pw_gid)
            #expect(chmod(dir.path, 0o711) == 0, "nobody may pass through the test directory")
            #expect(chown(sessions, uid, gid) == 0)
            identity = "\(uid):\(gid)"
        }
        let child = try FilesystemWriterTool.Child(["denied", sessions, "k", identity])
        let (status, output) = await child.finish()
        #expect(status == 0, "\(output)")
        #expect(output.contains("euid=\(geteuid() == 0 ? identity.split(separator: ":")[0] : "\(geteuid())")"), "\(output)")
        #expect(!output.contains("saved"), "the save into a read-only directory succeeded: \(output)")
        #expect(output.contains("code=storeFailure"), "\(output)")
        #expect(output.contains("EACCES"), "\(output)")
        #expect(output.contains(sessions), "the error names the directory: \(output)")
        #expect(output.contains("kept"), "the session keeps its first value: \(output)")
    }

    static func onIOThread() -> Bool { FilesystemIOPool.isPoolThread }

    @Test func syncingCallsRunOnTheStoresThreadsAndTheRestWithinABound() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path, ioThreads: 4)
        #expect(try await store.perform(syncs: true) { Self.onIOThread() })
        // Blocking page-cache calls from many tasks: at most inlineLimit run outside the pool.
        final class Counters: Sendable {
            let inline = Atomic<Int>(0)
            let peak = Atomic<Int>(0)
        }
        let counters = Counters()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<32 {
                group.addTask {
                    _ = try? await store.perform(syncs: false) { () throws(SessionError) in
                        if Self.onIOThread() {
                            Pace.block(.milliseconds(2))  // a blocking call's duration
                            return
                        }
                        let now = counters.inline.wrappingAdd(1, ordering: .relaxed).newValue
                        counters.peak.max(now, ordering: .relaxed)
                        Pace.block(.milliseconds(2))  // a blocking call's duration
                        counters.inline.wrappingSubtract(1, ordering: .relaxed)
                    }
                }
            }
        }
        let peak = counters.peak.load(ordering: .relaxed)
        #expect(peak >= 1)
        #expect(peak <= store.inlineLimit)
    }

    @Test func manyTasksOnOneStore() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path, ioThreads: 4)
        // Far more tasks than I/O threads and cooperative threads: all finish.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<200 {
                group.addTask {
                    for r in 0..<5 {
                        let value = WriterValue.make(writer: t, round: r)
                        try await store.save(key: "t\(t)", value: value, ttl: 60)
                        #expect(try await store.load(key: "t\(t)") == value)
                        if let shared = try await store.load(key: "shared") { #expect(WriterValue.parse(shared) != nil) }
                        try await store.save(key: "shared", value: value, ttl: 60)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.list().count == 201)
    }
}
