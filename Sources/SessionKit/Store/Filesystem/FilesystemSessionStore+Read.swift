#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Reading session files. Everything here blocks and runs on the store's I/O pool; names
// are NUL-terminated C strings relative to `directoryDescriptor`.

/// What a look at a session file found.
enum FilesystemEntryState {
    case missing
    /// Not a regular file in SessionKit's format (a link, a directory, another program's file).
    case foreign
    case live
    case expired
}

extension FilesystemSessionStore {
    /// Opens a session file for reading without following links; `nil` when it is missing.
    func openEntry(_ name: [CChar], action: String) throws(SessionError) -> (descriptor: Int32, info: stat)? {
        let fd = openat(directoryDescriptor, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            throw failure(action, displayPath(name), code)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw failure(action, displayPath(name), code)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw SessionError(.storeFailure, "cannot \(action) \(displayPath(name)): it is not a regular file; only the store should create files in \(directory), remove it")
        }
        return (fd, info)
    }

    static func modificationTime(_ info: stat) -> Double {
        #if canImport(Darwin)
        Double(info.st_mtimespec.tv_sec) + Double(info.st_mtimespec.tv_nsec) / 1e9
        #else
        Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        #endif
    }

    static func changeTime(_ info: stat) -> Double {
        #if canImport(Darwin)
        Double(info.st_ctimespec.tv_sec) + Double(info.st_ctimespec.tv_nsec) / 1e9
        #else
        Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9
        #endif
    }

    /// Reads up to `count` bytes at `offset`, retrying on short reads and EINTR.
    func readBytes(_ fd: Int32, count: Int, offset: Int, name: [CChar]) throws(SessionError) -> [UInt8] {
        var failedCode: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n > 0 {
                    done += n
                } else if n == 0 {
                    break
                } else if errno != EINTR {
                    failedCode = errno
                    break
                }
            }
            initialized = done
        }
        if failedCode != 0 { throw failure("read", displayPath(name), failedCode) }
        return bytes
    }

    /// How many times a reader opens a file again when it finds it being rewritten.
    static let readAttempts = 8

    /// Reads a live entry's value, optionally refreshing its time to live (`touch`).
    ///
    /// A file whose header does not match its name's key, its length or its checksum was
    /// opened just before it was replaced and is being reused for another write: it is opened
    /// again by name. A file that never reads whole is treated as absent and left in place.
    ///
    /// - Returns: the value, and the contents still to be written when a refresh changes the
    ///   TTL between a number and `never` and this thread may not sync (see ``refresh``).
    func readLive(name: [CChar], key: [UInt8], now: Double, touch: Bool, ttl: Int?) throws(SessionError) -> (value: [UInt8], rewrite: [UInt8]?)? {
        for _ in 0..<Self.readAttempts {
            guard let (fd, info) = try openEntry(name, action: "read") else { return nil }
            defer { close(fd) }
            let size = Int(info.st_size)
            guard size <= maximumValueBytes + FilesystemEntryFormat.maximumHeaderLength else {
                throw SessionError(.valueTooLarge, "the session file \(displayPath(name)) is \(size) bytes, over the store's limit of \(maximumValueBytes); delete it or raise maximumValueBytes")
            }
            let bytes = try readBytes(fd, count: size, offset: 0, name: name)
            let header = bytes.withUnsafeBytes { FilesystemEntryFormat.wholeEntryHeader($0, key: key) }
            guard let header else { continue }
            if FilesystemEntryFormat.isExpired(ttl: header.ttl, modified: Self.modificationTime(info), now: now) { return nil }
            let value = Array(bytes[header.size...])
            var rewrite: [UInt8]?
            if touch { rewrite = try refresh(fd, name: name, key: key, storedTTL: header.ttl, newTTL: ttl, now: now, value: value) }
            return (value, rewrite)
        }
        return nil
    }

    /// Gives an entry a new expiry of `now + newTTL`.
    ///
    /// When the entry keeps a TTL, only the modification time moves (to
    /// `now + newTTL - storedTTL`, which is `now` when the TTL is unchanged), on the very file
    /// that was read: a save that replaced it meanwhile is not undone. Between a TTL and no
    /// TTL the header changes and the file must be rewritten: that is left to the caller, as
    /// contents to write (under the key's lock, only if the value is still the one read; see
    /// ``FilesystemSessionStore/loadAndRefresh(key:ttl:)``). The middleware never changes a
    /// key's kind of TTL.
    func refresh(
        _ fd: Int32, name: [CChar], key: [UInt8], storedTTL: Int?, newTTL: Int?, now: Double, value: [UInt8]
    ) throws(SessionError) -> [UInt8]? {
        switch (storedTTL, newTTL) {
        case (let stored?, let new?):
            try setModificationTime(fd, now + Double(new) - Double(stored), name: name)
        case (nil, nil):
            try setModificationTime(fd, now, name: name)
        default:
            return FilesystemEntryFormat.encode(ttl: newTTL, value: value, key: key)
        }
        return nil
    }

    func setModificationTime(_ fd: Int32, _ time: Double, name: [CChar]) throws(SessionError) {
        var times = [Self.timespec(time), Self.timespec(time)]
        guard futimens(fd, &times) == 0 else { throw failure("refresh", displayPath(name), errno) }
    }

    static func timespec(_ time: Double) -> timespec {
        let seconds = time.rounded(.down)
        return .init(tv_sec: Int(seconds), tv_nsec: Int(((time - seconds) * 1e9).rounded(.down)))
    }

    /// Looks at an entry's header and times without reading its value.
    func inspect(name: [CChar], key: [UInt8], now: Double) throws(SessionError) -> FilesystemEntryState {
        for _ in 0..<Self.readAttempts {
            let fd = openat(directoryDescriptor, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
            guard fd >= 0 else {
                let code = errno
                if code == ENOENT { return .missing }
                if code == ELOOP { return .foreign }
                throw failure("inspect", displayPath(name), code)
            }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return .foreign }
            let head = try readBytes(fd, count: min(Int(info.st_size), FilesystemEntryFormat.maximumHeaderLength), offset: 0, name: name)
            guard let header = head.withUnsafeBytes({ FilesystemEntryFormat.parseHeader($0) }), header.key == key else { continue }
            return FilesystemEntryFormat.isExpired(ttl: header.ttl, modified: Self.modificationTime(info), now: now) ? .expired : .live
        }
        return .foreign
    }
}
