#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A session store that keeps one file per session in a directory: Werkzeug secure_cookie's
/// `FilesystemSessionStore`, made safe for production.
///
/// - Files are named by ``filenameTemplate`` with `%s` replaced by the key
///   (`sessionkit_session:<id>.session` with the defaults). Keys are checked before they
///   reach a path: only letters, digits and `-` `_` `:` `.`, no leading dot, no `..`.
/// - A file holds one header line (`sessionkit-fs/1 ttl=<seconds>|never len=… sum=… key=…`),
///   then the value's bytes. The entry expires when the file's modification time plus the
///   TTL has passed; ``touch(key:ttl:)`` only moves the modification time, so refreshing a
///   session rewrites nothing.
/// - Writes are atomic: the new contents go to a spare file in the same directory, which is
///   synced (``Durability/durable``, the default) and swapped with the session's file
///   (`renameat2(RENAME_EXCHANGE)`, or a rename); with ``Durability/synchronous`` the
///   directory is synced too. Readers see the old file or the new one, never a torn one
///   (they check the header's key, length and checksum); a crash leaves one of them.
/// - Files are opened without following symbolic links, relative to a descriptor of the
///   directory held since ``init(directory:filenameTemplate:mode:durability:maximumValueBytes:ioThreads:clock:)``;
///   a directory that is a symbolic link, belongs to another user, or is writable by group
///   or others is refused.
/// - Expired sessions are never returned; ``prune(staleTemporaryFileAge:)`` deletes their
///   files and temporary files left by crashed writers.
/// - `fsync` and directory scans run on a small pool of dedicated threads, never on Swift's
///   cooperative threads; reads and page-cache writes run on the caller's thread, at most
///   half the processors' worth at once, the rest on the dedicated threads.
///
/// - Conditional saves (``VersionedSessionStore``, for the changed-keys save mode): the
///   version is the stored value's bytes; ``save(key:value:ttl:ifVersion:)`` checks and swaps
///   under a per-key lock (an open file description lock on `.skfs-locks` in the directory)
///   that every save, delete and prune of this store takes, in every process.
///
/// Several processes may share one directory. See `Docs/filesystem.md` for the format,
/// conditional saves, pruning from a scheduled job and measured throughput.
public final class FilesystemSessionStore: SessionStore {
    /// How hard a save works to survive a crash of the machine.
    ///
    /// Every level is atomic: a save replaces the file in one step, so readers and a crash of
    /// the process see the old session or the new one, never a torn file.
    public enum Durability: Sendable, Hashable {
        /// The new file is synced (`fsync`) before it is swapped into place, so that
        /// after a crash of the machine the session file holds the old session or the new
        /// one, never a torn or empty file. The rename itself reaches the disk with the file
        /// system's next commit (ext4: within 5 seconds, or sooner with any other sync), so a
        /// power loss may undo the last few seconds of saves. SQLite's `synchronous=NORMAL`
        /// in WAL mode makes the same trade. Deletes (and prunes) sync the directory before
        /// they return, so a session that was ended stays ended after a crash. The default.
        case durable
        /// Like ``durable``, and the directory is synced after every swap and delete
        /// (concurrent saves share one directory sync): a save that returned survives a power
        /// loss. Costs a second disk flush per save when saves do not overlap.
        case synchronous
        /// No `fsync`: as fast as the page cache allows, as secure_cookie does. A crash of
        /// the machine can lose recent sessions or leave their files unreadable (then they
        /// are treated as absent, never returned damaged).
        case fast

        var syncsFiles: Bool { self != .fast }
        var syncsDirectory: Bool { self == .synchronous }
        /// Deletes sync the directory at every level but ``fast``: a session that was ended
        /// must not come back after a crash, so a delete is made durable before it returns.
        var syncsDeletes: Bool { self != .fast }
    }

    /// What ``prune(staleTemporaryFileAge:)`` removed.
    public struct PruneReport: Sendable, Hashable {
        /// Session files past their expiry that were deleted.
        public var expiredSessions: Int
        /// Temporary files left by interrupted writes that were deleted.
        public var staleTemporaryFiles: Int

        /// Creates a report.
        public init(expiredSessions: Int = 0, staleTemporaryFiles: Int = 0) {
            self.expiredSessions = expiredSessions
            self.staleTemporaryFiles = staleTemporaryFiles
        }
    }

    /// The default file name template, secure_cookie's with SessionKit's name.
    public static let defaultFilenameTemplate = "sessionkit_%s.session"

    /// The longest key accepted, in bytes.
    public static let maximumKeyLength = 200

    /// The directory used when none is given: `sessionkit-<uid>` in `$TMPDIR` (or `/tmp`),
    /// private to the user running the process.
    public static var defaultDirectory: String {
        var base = "/tmp"
        if let tmp = getenv("TMPDIR"), tmp[0] != 0 { base = String(cString: tmp) }
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        return base + "/sessionkit-\(geteuid())"
    }

    /// The directory holding the session files.
    public let directory: String
    /// The file name of a session, with `%s` standing for its key.
    public let filenameTemplate: String
    /// The permission bits of session files (default `0o600`: readable by the owner only).
    public let mode: Int
    /// Whether saves are synced to disk.
    public let durability: Durability
    /// The largest value accepted, in bytes.
    public let maximumValueBytes: Int
    /// The clock that times expiry.
    public let clock: SessionClock

    let directoryDescriptor: Int32
    let templatePrefix: [UInt8]
    let templateSuffix: [UInt8]
    let pool: FilesystemIOPool
    let directorySync = FilesystemDirectorySync()
    /// Page-cache operations running on the caller's (cooperative) thread right now.
    let inlineOperations = Atomic<Int>(0)
    /// The most page-cache operations allowed to run on cooperative threads at once; more
    /// wait for the I/O threads. Half the processors, so the cooperative pool always has
    /// threads that are not in a system call.
    let inlineLimit: Int
    /// Numbers temporary files; with the random `temporarySeed` it makes names unique.
    let temporaryCounter = Atomic<UInt64>(0)
    let temporarySeed = UInt64.random(in: .min ... .max)
    /// Spare files (temporary names holding a replaced session's inode) ready for reuse.
    let spares = Mutex<[[CChar]]>([])
    /// False once the file system refused `RENAME_EXCHANGE`.
    let exchangeAvailable = Atomic<Bool>(FilesystemSessionStore.renameat2 != nil)

    /// Opens (and creates when missing) a session directory.
    ///
    /// - Parameters:
    ///   - directory: where session files live; `nil` for ``defaultDirectory``. Missing
    ///     directories are created with mode `0700`.
    ///   - filenameTemplate: a file name with exactly one `%s`, which is replaced by the key;
    ///     no `/`, no other `%`, and no leading `.` (dot files are the store's temporary files).
    ///   - mode: the permission bits of session files; must include owner read and write and
    ///     must not grant write to group or others. Default `0o600`.
    ///   - durability: ``Durability/durable`` (default), ``Durability/synchronous`` or
    ///     ``Durability/fast``.
    ///   - maximumValueBytes: the largest session accepted (default 1 MiB).
    ///   - ioThreads: the most dedicated threads doing file I/O at once (default 16);
    ///     concurrent `fsync` calls share the disk's journal commits, so more threads than
    ///     cores pay off when saves are synced.
    ///   - clock: the clock that times expiry.
    /// - Throws: ``SessionError`` with code `invalidConfiguration` for a bad option or an
    ///   unsafe directory (a symbolic link, another user's, writable by group or others), or
    ///   `storeUnavailable` when the directory cannot be created or opened.
    public init(
        directory: String? = nil,
        filenameTemplate: String = FilesystemSessionStore.defaultFilenameTemplate,
        mode: Int = 0o600,
        durability: Durability = .durable,
        maximumValueBytes: Int = 1 << 20,
        ioThreads: Int = 16,
        clock: SessionClock = .system
    ) throws(SessionError) {
        let (prefix, suffix) = try Self.splitTemplate(filenameTemplate)
        guard mode & 0o600 == 0o600, mode & ~0o777 == 0, mode & 0o022 == 0 else {
            throw SessionError(
                .invalidConfiguration,
                "file mode 0o\(String(mode, radix: 8)) is unsafe or unusable for session files: it must include owner read and write (0o600) and must not let group or others write; use 0o600, or 0o640 for a group that backs them up")
        }
        guard maximumValueBytes > 0, maximumValueBytes <= 1 << 30 else {
            throw SessionError(.invalidConfiguration, "maximumValueBytes \(maximumValueBytes) is out of range; use a positive size up to 1 GiB (default 1 MiB)")
        }
        guard (1...256).contains(ioThreads) else {
            throw SessionError(.invalidConfiguration, "ioThreads \(ioThreads) is out of range; use 1 to 256 (default 16)")
        }
        let path = directory ?? Self.defaultDirectory
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw SessionError(.invalidConfiguration, "the session directory path is empty or contains a NUL byte; give an absolute path such as /var/lib/myapp/sessions")
        }
        self.directory = path
        self.filenameTemplate = filenameTemplate
        self.templatePrefix = prefix
        self.templateSuffix = suffix
        self.mode = mode
        self.durability = durability
        self.maximumValueBytes = maximumValueBytes
        self.clock = clock
        self.directoryDescriptor = try Self.openDirectory(path, syncParent: durability.syncsFiles)
        self.pool = FilesystemIOPool(maximumThreads: ioThreads)
        self.inlineLimit = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) / 2)
    }

    deinit {
        for spare in spares.withLock({ $0 }) { unlinkat(directoryDescriptor, spare, 0) }
        close(directoryDescriptor)
        pool.shutdown()
    }

    // MARK: SessionStore

    public func load(key: String) async throws -> [UInt8]? {
        let name = try fileName(forKey: key)
        let now = clock.now()
        return try await perform(syncs: false) { () throws(SessionError) in
            try self.readLive(name: name, key: Array(key.utf8), now: now, touch: false, ttl: nil)?.value
        }
    }

    public func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]? {
        try await loadAndRefresh(key: key, ttl: ttl)
    }

    public func save(key: String, value: [UInt8], ttl: Int?) async throws {
        let (name, keyBytes, contents) = try prepareWrite(key: key, value: value, ttl: ttl)
        _ = try await performLocked(key: keyBytes, syncs: durability.syncsFiles) { (lockHeld: Bool) throws(SessionError) in
            try self.writeAtomically(name: name, key: keyBytes, contents: contents, lockHeld: lockHeld)
        }
    }

    /// What every write needs: the entry's file name, its key's bytes and the file's contents,
    /// once the value's size is checked.
    func prepareWrite(key: String, value: [UInt8], ttl: Int?) throws(SessionError) -> (name: [CChar], key: [UInt8], contents: [UInt8]) {
        let name = try fileName(forKey: key)
        let keyBytes = Array(key.utf8)
        guard value.count <= maximumValueBytes else {
            throw SessionError(
                .valueTooLarge,
                "the entry for key \"\(Self.redactedKey(keyBytes))\" in \(directory) is \(value.count) bytes, over the filesystem store's limit of \(maximumValueBytes); store less in the session or raise maximumValueBytes")
        }
        return (name, keyBytes, FilesystemEntryFormat.encode(ttl: ttl, value: value, key: keyBytes))
    }

    public func delete(key: String) async throws {
        let name = try fileName(forKey: key)
        let keyBytes = Array(key.utf8)
        try await performLocked(key: keyBytes, syncs: durability.syncsDeletes) { (lockHeld: Bool) throws(SessionError) in
            try self.remove(name: name, key: keyBytes, lockHeld: lockHeld)
        }
    }

    /// Saves `value` only when there is no live entry: under the key's lock, the entry is read
    /// and the new file put in place only if there is none (or it has expired).
    public func create(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        let (name, keyBytes, contents) = try prepareWrite(key: key, value: value, ttl: ttl)
        return try await pool.run { () throws(SessionError) in
            try self.writeAtomically(name: name, key: keyBytes, contents: contents, lockHeld: false) { () throws(SessionError) in
                try self.readLive(name: name, key: keyBytes, now: self.clock.now(), touch: false, ttl: nil) == nil
            }
        }
    }

    /// Saves `value` only over a live entry: under the key's lock, the entry is read and the
    /// new file swapped in only if it holds a session that has not expired. A session deleted
    /// (by any process on the directory) or expired is never written back.
    public func replace(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        let (name, keyBytes, contents) = try prepareWrite(key: key, value: value, ttl: ttl)
        // Always on an I/O thread: the lock may have to be waited for.
        return try await pool.run { () throws(SessionError) in
            try self.writeAtomically(name: name, key: keyBytes, contents: contents, lockHeld: false, onlyIfPresent: true) { () throws(SessionError) in
                try self.readLive(name: name, key: keyBytes, now: self.clock.now(), touch: false, ttl: nil) != nil
            }
        }
    }

    public func touch(key: String, ttl: Int?) async throws -> Bool {
        try await loadAndRefresh(key: key, ttl: ttl) != nil
    }

    /// Reads a live entry and gives it a new expiry of `now + ttl`.
    func loadAndRefresh(key: String, ttl: Int?) async throws(SessionError) -> [UInt8]? {
        let name = try fileName(forKey: key)
        let now = clock.now()
        let entry = try await perform(syncs: false) { () throws(SessionError) in
            try self.readLive(name: name, key: Array(key.utf8), now: now, touch: true, ttl: ttl)
        }
        guard let entry else { return nil }
        if let rewrite = entry.rewrite {
            // The kind of TTL changed: rewrite the file on an I/O thread (the lock may have to be
            // waited for), unless a save replaced or removed it meanwhile.
            let keyBytes = Array(key.utf8)
            let value = entry.value
            _ = try await pool.run { () throws(SessionError) in
                try self.writeAtomically(name: name, key: keyBytes, contents: rewrite, lockHeld: false, onlyIfPresent: true) { () throws(SessionError) in
                    try self.readLive(name: name, key: keyBytes, now: self.clock.now(), touch: false, ttl: nil)?.value == value
                }
            }
        }
        return entry.value
    }

    /// Runs `body`, which makes blocking system calls, without starving Swift's cooperative
    /// threads: calls that sync to disk (or scan the directory) go to the I/O threads; calls
    /// that only reach the page cache run right here, unless ``inlineLimit`` of them already
    /// do, in which case they go to the I/O threads too.
    @inline(__always)
    func perform<T>(syncs: Bool, _ body: @escaping @Sendable () throws(SessionError) -> T) async throws(SessionError) -> T {
        if !syncs {
            if inlineOperations.wrappingAdd(1, ordering: .acquiring).newValue <= inlineLimit {
                defer { inlineOperations.wrappingSubtract(1, ordering: .releasing) }
                return try body()
            }
            inlineOperations.wrappingSubtract(1, ordering: .relaxed)
        }
        return try await pool.run(body)
    }
}
