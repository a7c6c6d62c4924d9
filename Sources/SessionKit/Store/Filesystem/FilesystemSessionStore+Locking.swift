#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Per-key write locks shared by every process that uses the directory.
//
// Every change of a session file (save, conditional save, delete, prune's removal, the rewrite
// of a refresh that changes the kind of TTL) holds the key's lock while it checks and swaps the
// file, so that a conditional save's "compare, then swap" is one step for all of them. Loads
// and refreshes that only move the modification time take no lock.
//
// On Linux the lock is an open file description lock (`F_OFD_SETLK`/`F_OFD_SETLKW`) on one
// byte of the directory's lock file `.skfs-locks`, at an offset given by a hash of the key: keys
// rarely share a byte, so writers of different sessions do not wait for each other. Such locks
// belong to the open file description, so two opens in one process exclude each other just as
// two processes do, and closing the descriptor (or the process dying) releases the lock.
// Elsewhere the whole lock file is locked with `flock`, which serialises the locked steps of
// all keys (they are short: a spare file is written and synced before its lock is taken).

extension FilesystemSessionStore {
    /// The lock file's name, in the session directory. It is created on the first write and
    /// kept: it is empty, prune leaves it alone (it is not a temporary name), and deleting it
    /// while servers run would let writers that opened the old one and writers that opened the
    /// new one miss each other.
    static let lockFileName: [CChar] = Array(".skfs-locks".utf8CString)

    #if os(Linux)
    static let ofdSetLock: Int32 = 37  // F_OFD_SETLK
    static let ofdSetLockWait: Int32 = 38  // F_OFD_SETLKW
    #endif

    /// The byte of the lock file that stands for `key`.
    static func lockOffset(forKey key: [UInt8]) -> Int64 {
        let hash = key.withUnsafeBytes { FilesystemEntryFormat.checksum($0) }
        return Int64(hash & 0x3FFF_FFFF)
    }

    /// Takes the write lock of `key` and returns the descriptor that holds it; closing the
    /// descriptor releases it.
    ///
    /// - Parameter wait: `true` to wait for the lock, which blocks: only on an I/O pool thread.
    ///   `false` returns `nil` at once when another writer holds it.
    func lockKey(_ key: [UInt8], wait: Bool) throws(SessionError) -> Int32? {
        let fd = openat(directoryDescriptor, Self.lockFileName, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode_t(mode))
        guard fd >= 0 else {
            throw failure("lock", "\(directory)/.skfs-locks (the lock file of conditional saves)", errno)
        }
        while true {
            #if os(Linux)
            var request = flock()
            request.l_type = Int16(F_WRLCK)
            request.l_whence = Int16(SEEK_SET)
            request.l_start = off_t(Self.lockOffset(forKey: key))
            request.l_len = 1
            request.l_pid = 0
            let status = fcntl(fd, wait ? Self.ofdSetLockWait : Self.ofdSetLock, &request)
            #else
            let status = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))
            #endif
            if status == 0 { return fd }
            let code = errno
            if code == EINTR { continue }
            close(fd)
            if !wait && (code == EAGAIN || code == EACCES || code == EWOULDBLOCK) { return nil }
            throw failure("lock", "\(directory)/.skfs-locks (the lock file of conditional saves)", code)
        }
    }

    /// Runs `body`, which changes the entry of `key`, holding the key's lock.
    ///
    /// Like ``perform(syncs:_:)``: when `syncs` is false and an inline slot is free, `body` runs
    /// on the caller's thread if the lock can be taken without waiting (`lockHeld` true). In
    /// every other case it runs on an I/O thread with `lockHeld` false, and takes the lock
    /// itself, waiting as long as it must, at the point it chooses (a save writes and syncs its
    /// spare file first, so the lock is held only for the check and the swap).
    func performLocked<T>(
        key: [UInt8], syncs: Bool, _ body: @escaping @Sendable (_ lockHeld: Bool) throws(SessionError) -> T
    ) async throws(SessionError) -> T {
        if !syncs {
            if inlineOperations.wrappingAdd(1, ordering: .acquiring).newValue <= inlineLimit {
                defer { inlineOperations.wrappingSubtract(1, ordering: .releasing) }
                if let lock = try lockKey(key, wait: false) {
                    defer { close(lock) }
                    return try body(true)
                }
            } else {
                inlineOperations.wrappingSubtract(1, ordering: .relaxed)
            }
        }
        return try await pool.run { () throws(SessionError) in try body(false) }
    }
}

extension FilesystemSessionStore: VersionedSessionStore {
    /// Returns the live value of `key` and, as its version, the value's bytes.
    ///
    /// Refreshing a session (``touch(key:ttl:)``, rolling expiry) does not change its version;
    /// any save of other bytes does.
    public func loadVersioned(key: String) async throws -> (value: [UInt8], version: SessionStoreVersion)? {
        guard let value = try await load(key: key) else { return nil }
        return (value, SessionStoreVersion(contents: value))
    }

    /// The bytes a session was loaded with are its version, so a changed-keys save can skip a read.
    public func version(ofLoaded value: [UInt8]) -> SessionStoreVersion? {
        SessionStoreVersion(contents: value)
    }

    /// Saves `value` only if the live entry of `key` still holds the bytes `version` was read with.
    ///
    /// The new file is written (and synced, unless ``Durability/fast``) first; then, holding
    /// the key's lock, the entry is read again and compared with the version, and swapped with
    /// the new file only if equal. Every other write of this store (in any process on the
    /// directory) takes the same lock, so none can land between the check and the swap. The
    /// swap is an exchange that fails when the entry has no file, so a conditional save never
    /// creates an entry, even one removed by a process that takes no lock.
    ///
    /// - Returns: `false`, writing nothing, when the entry is missing, expired, unreadable, or
    ///   holds other bytes.
    public func save(key: String, value: [UInt8], ttl: Int?, ifVersion version: SessionStoreVersion) async throws -> Bool {
        let (name, keyBytes, contents) = try prepareWrite(key: key, value: value, ttl: ttl)
        guard let expected = version.contents else { return false }  // not a version this store made
        // Always on an I/O thread: the lock may have to be waited for.
        return try await pool.run { () throws(SessionError) in
            try self.writeAtomically(name: name, key: keyBytes, contents: contents, lockHeld: false, onlyIfPresent: true) { () throws(SessionError) in
                try self.readLive(name: name, key: keyBytes, now: self.clock.now(), touch: false, ttl: nil)?.value == expected
            }
        }
    }
}
