#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Scanning the directory and pruning expired and stale files; blocking, on the I/O pool.

extension FilesystemSessionStore {
    /// Calls `body` with the name of every entry of the directory, except `.`, `..` and
    /// dot files that are not the store's temporary files.
    func scanDirectory(_ body: (_ name: [CChar], _ isTemporary: Bool) throws(SessionError) -> Void) throws(SessionError) {
        let fd = openat(directoryDescriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("list", directory, errno) }
        guard let stream = fdopendir(fd) else {
            let code = errno
            close(fd)
            throw failure("list", directory, code)
        }
        defer { closedir(stream) }
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw failure("list", directory, errno) }
                return
            }
            let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if name.first == UInt8(ascii: ".") {
                if Self.isTemporaryName(name) { try body(name.map { CChar(bitPattern: $0) } + [0], true) }
                continue
            }
            try body(name.map { CChar(bitPattern: $0) } + [0], false)
        }
    }

    /// Deletes an expired entry unless it was saved, refreshed or deleted since it was inspected.
    ///
    /// The file is opened and checked again through its descriptor; it is then removed by name
    /// only if the name still holds that very file (same device and inode) with the same
    /// modification time. Prune never moves a file aside or links one back, so it can never
    /// bring back a session deleted meanwhile. A file refreshed or replaced between the check
    /// and the removal survives until the next prune (the benign side of the race); what is
    /// left is the instant between the last `fstatat` and `unlinkat`, in which a save landing
    /// under the name would be removed with the expired file.
    func removeIfExpired(name: [CChar], key: [UInt8], now: Double) throws(SessionError) -> Bool {
        let fd = openat(directoryDescriptor, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ELOOP { return false }
            throw failure("prune", displayPath(name), code)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        let head = try readBytes(fd, count: min(Int(info.st_size), FilesystemEntryFormat.maximumHeaderLength), offset: 0, name: name)
        guard let header = head.withUnsafeBytes({ FilesystemEntryFormat.parseHeader($0) }), header.key == key,
            FilesystemEntryFormat.isExpired(ttl: header.ttl, modified: Self.modificationTime(info), now: now)
        else { return false }
        var current = stat()
        guard fstatat(directoryDescriptor, name, &current, AT_SYMLINK_NOFOLLOW) == 0, Self.sameFileUnchanged(info, current) else {
            return false
        }
        if unlinkat(directoryDescriptor, name, 0) != 0 {
            let code = errno
            if code == ENOENT { return false }
            throw failure("prune", displayPath(name), code)
        }
        return true
    }

    /// True when `b` describes the same file as `a` (device and inode) with the same
    /// modification time.
    static func sameFileUnchanged(_ a: stat, _ b: stat) -> Bool {
        #if canImport(Darwin)
        let (am, bm) = (a.st_mtimespec, b.st_mtimespec)
        #else
        let (am, bm) = (a.st_mtim, b.st_mtim)
        #endif
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino && am.tv_sec == bm.tv_sec && am.tv_nsec == bm.tv_nsec
    }

    /// Deletes a temporary file whose last change is older than `age` seconds.
    func removeStaleTemporary(name: [CChar], olderThan age: Double, realNow: Double) throws(SessionError) -> Bool {
        var info = stat()
        guard fstatat(directoryDescriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
        guard realNow - Self.changeTime(info) >= age else { return false }
        return unlinkat(directoryDescriptor, name, 0) == 0
    }
}
