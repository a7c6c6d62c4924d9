#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The system calls behind FilesystemSessionStore. Everything here blocks and runs on the
// store's I/O pool; names are NUL-terminated C strings relative to `directoryDescriptor`.

/// What a look at a session file found.
enum FilesystemEntryState {
    case missing
    /// Not a regular file in SessionKit's format (a link, a directory, another program's file).
    case foreign
    case live
    case expired
}

extension FilesystemSessionStore {
    /// The first bytes of every temporary file name; no key can start with a dot.
    static let temporaryPrefix: [UInt8] = Array(".skfs-".utf8)
    static let temporarySuffix: [UInt8] = Array(".tmp".utf8)

    // MARK: Names

    static func splitTemplate(_ template: String) throws(SessionError) -> (prefix: [UInt8], suffix: [UInt8]) {
        let bytes = Array(template.utf8)
        func invalid(_ why: String) -> SessionError {
            SessionError(.invalidConfiguration, "filenameTemplate \(template.debugDescription) \(why); use something like \"\(defaultFilenameTemplate)\"")
        }
        var marker: Int?
        for (i, c) in bytes.enumerated() where c == UInt8(ascii: "%") {
            guard marker == nil, i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "s") else {
                throw invalid("must contain exactly one %s and no other %")
            }
            marker = i
        }
        guard let marker else { throw invalid("must contain exactly one %s, which is replaced by the key") }
        if bytes.contains(UInt8(ascii: "/")) || bytes.contains(0) { throw invalid("must be a file name: no / and no NUL") }
        if bytes.first == UInt8(ascii: ".") { throw invalid("must not start with a dot, which marks the store's temporary files") }
        if bytes.count - 2 + maximumKeyLength > 255 {
            throw invalid("is too long: with a key of up to \(maximumKeyLength) bytes the name must fit in 255 bytes")
        }
        return (Array(bytes[..<marker]), Array(bytes[(marker + 2)...]))
    }

    /// True when `key` can become part of a file name without naming another path: 1 to
    /// ``maximumKeyLength`` bytes of letters, digits, `-`, `_`, `:` and `.`, no leading dot
    /// and no `..`.
    static func isSafeKey(_ key: some Collection<UInt8>) -> Bool {
        guard !key.isEmpty, key.count <= maximumKeyLength, key.first != UInt8(ascii: ".") else { return false }
        var previousDot = false
        for c in key {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: ":"):
                previousDot = false
            case UInt8(ascii: "."):
                if previousDot { return false }
                previousDot = true
            default:
                return false
            }
        }
        return true
    }

    /// The NUL-terminated file name for `key`, after checking the key.
    func fileName(forKey key: String) throws(SessionError) -> [CChar] {
        let keyBytes = Array(key.utf8)
        guard Self.isSafeKey(keyBytes) else {
            // Redacted like every key in a message: a near-miss could still be a live ID.
            let shown = Self.redactedKey(keyBytes.prefix(80))
            throw SessionError(
                .invalidKey,
                "the key \(shown.debugDescription) cannot name a session file in \(directory): keys may hold only letters, digits, -, _, : and . (at most \(Self.maximumKeyLength) bytes, no leading dot, no \"..\"); session IDs and the default prefix \"session:\" qualify, so pick a prefix from those characters")
        }
        var name = [CChar]()
        name.reserveCapacity(templatePrefix.count + keyBytes.count + templateSuffix.count + 1)
        for c in templatePrefix { name.append(CChar(bitPattern: c)) }
        for c in keyBytes { name.append(CChar(bitPattern: c)) }
        for c in templateSuffix { name.append(CChar(bitPattern: c)) }
        name.append(0)
        return name
    }

    /// The key held in a directory entry's name, or `nil` when the name does not fit the
    /// template or the key is not one the store would write.
    func key(fromFileName cName: [CChar]) -> String? {
        let name = cName.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        guard name.count > templatePrefix.count + templateSuffix.count,
            name.starts(with: templatePrefix), name.reversed().starts(with: templateSuffix.reversed())
        else { return nil }
        let key = name[templatePrefix.count..<(name.count - templateSuffix.count)]
        guard Self.isSafeKey(key) else { return nil }
        return String(decoding: key, as: UTF8.self)
    }

    /// A fresh temporary file name: the store's random seed mixed with a counter, so names
    /// differ within the process without a system call and across processes by chance.
    func temporaryName() -> [CChar] {
        var name = Self.temporaryPrefix
        let count = temporaryCounter.wrappingAdd(1, ordering: .relaxed).newValue
        var random = (temporarySeed &+ count &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(UInt32(bitPattern: getpid()))
        for _ in 0..<16 {
            name.append(Array("0123456789abcdef".utf8)[Int(random & 0xF)])
            random >>= 4
        }
        name += Self.temporarySuffix
        return name.map { CChar(bitPattern: $0) } + [0]
    }

    static func isTemporaryName(_ name: [UInt8]) -> Bool {
        name.count == temporaryPrefix.count + 16 + temporarySuffix.count && name.starts(with: temporaryPrefix)
            && name.reversed().starts(with: temporarySuffix.reversed())
    }

    /// The path of `name` for messages, with the key in it redacted (``redactedKey(_:)``):
    /// error messages get logged, and a session file's name holds a live session ID. The
    /// store's temporary names hold no key and are shown whole.
    func displayPath(_ name: [CChar]) -> String {
        let bytes = name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        if Self.isTemporaryName(bytes) { return directory + "/" + String(decoding: bytes, as: UTF8.self) }
        let shown: String
        if bytes.count > templatePrefix.count + templateSuffix.count, bytes.starts(with: templatePrefix),
            bytes.reversed().starts(with: templateSuffix.reversed()) {
            let key = bytes[templatePrefix.count..<(bytes.count - templateSuffix.count)]
            shown = String(decoding: templatePrefix, as: UTF8.self) + Self.redactedKey(key) + String(decoding: templateSuffix, as: UTF8.self)
        } else {
            shown = Self.redactedKey(bytes)
        }
        return directory + "/" + shown
    }

    /// A key as messages show it: up to and including its last `:` (the prefix), then the
    /// first 4 characters of the rest and "…" — enough to tell sessions apart in a log, never
    /// a whole session ID. A rest of 4 characters or fewer (no ID is that short) is shown whole.
    static func redactedKey(_ key: some Collection<UInt8>) -> String {
        let bytes = Array(key)
        let restStart = (bytes.lastIndex(of: UInt8(ascii: ":")).map { $0 + 1 }) ?? 0
        let prefix = String(decoding: bytes[..<restStart], as: UTF8.self)
        let rest = String(decoding: bytes[restStart...], as: UTF8.self)
        guard rest.count > 4 else { return prefix + rest }
        return prefix + rest.prefix(4) + "…"
    }

    // MARK: Errors

    static func errnoName(_ code: Int32) -> String {
        switch code {
        case ENOSPC: return "ENOSPC"
        case EDQUOT: return "EDQUOT"
        case EFBIG: return "EFBIG"
        case EACCES: return "EACCES"
        case EPERM: return "EPERM"
        case ENOENT: return "ENOENT"
        case EROFS: return "EROFS"
        case ELOOP: return "ELOOP"
        case EIO: return "EIO"
        case EISDIR: return "EISDIR"
        case ENOTDIR: return "ENOTDIR"
        case EMFILE: return "EMFILE"
        case ENFILE: return "ENFILE"
        case EEXIST: return "EEXIST"
        default: return "errno \(code)"
        }
    }

    static func describe(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (\(errnoName(code)))"
    }

    /// An error for a failed system call on `path`, with the likely fix.
    func failure(_ action: String, _ path: String, _ code: Int32, unchanged: Bool = false) -> SessionError {
        let keep = unchanged ? "; the previous session is unchanged" : ""
        switch code {
        case ENOSPC, EDQUOT:
            return SessionError(.storeFailure, "cannot \(action) \(path): the disk is full, \(Self.describe(code)); free space or raise the quota on the file system of \(directory)\(keep)")
        case EFBIG:
            return SessionError(.storeFailure, "cannot \(action) \(path): the file size limit was reached, \(Self.describe(code)); raise the process's file size limit (ulimit -f) or store less in the session\(keep)")
        case EACCES, EPERM:
            return SessionError(.storeFailure, "cannot \(action) \(path): permission denied, \(Self.describe(code)); the directory and its session files must belong to the user running the server (uid \(geteuid())), with mode 0700 for the directory\(keep)")
        case ENOENT:
            return SessionError(.storeUnavailable, "cannot \(action) \(path): the session directory \(directory) no longer exists, \(Self.describe(code)); recreate it (mkdir -m 700) and restart the server\(keep)")
        case EROFS:
            return SessionError(.storeFailure, "cannot \(action) \(path): the file system is read-only, \(Self.describe(code)); put the session directory on a writable file system\(keep)")
        case ELOOP:
            return SessionError(.storeFailure, "cannot \(action) \(path): it is a symbolic link, \(Self.describe(code)); the store never follows links in its directory, remove the link\(keep)")
        default:
            return SessionError(.storeFailure, "cannot \(action) \(path): \(Self.describe(code))\(keep)")
        }
    }

    // MARK: Opening the directory

    static func openDirectory(_ path: String, syncParent: Bool) throws(SessionError) -> Int32 {
        var created = false
        if mkdir(path, 0o700) == 0 {
            created = true
        } else if errno == ENOENT {
            try makeParents(of: path)
            created = mkdir(path, 0o700) == 0
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            var code = errno
            var info = stat()
            // With O_DIRECTORY, Linux reports a final symbolic link as ENOTDIR.
            if code == ENOTDIR, lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK { code = ELOOP }
            switch code {
            case ELOOP:
                throw SessionError(.invalidConfiguration, "the session directory \(path) is a symbolic link, \(describe(code)); give the real directory's path, so that nobody can redirect the sessions by replacing the link")
            case ENOTDIR:
                throw SessionError(.invalidConfiguration, "the session directory \(path) is not a directory, \(describe(code)); remove that file or choose another path")
            default:
                throw SessionError(.storeUnavailable, "cannot open the session directory \(path): \(describe(code)); create it with mode 0700, owned by the user running the server (uid \(geteuid()))")
            }
        }
        if created {
            _ = fchmod(fd, 0o700)
            if syncParent { syncParentDirectory(of: path) }
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw SessionError(.storeUnavailable, "cannot inspect the session directory \(path): \(describe(code))")
        }
        let owner = info.st_uid
        if owner != geteuid() && owner != 0 {
            close(fd)
            throw SessionError(.invalidConfiguration, "the session directory \(path) belongs to uid \(owner), not to the user running the server (uid \(geteuid())); its owner could read or replace the sessions: chown it to uid \(geteuid()) or choose another directory")
        }
        let permissions = Int(info.st_mode) & 0o7777
        if permissions & 0o022 != 0 {
            close(fd)
            throw SessionError(.invalidConfiguration, "the session directory \(path) is writable by \(permissions & 0o002 != 0 ? "every user" : "its group") (mode 0\(String(permissions, radix: 8))), so others could plant, replace or remove sessions; run chmod 700 \(path) or choose a private directory")
        }
        return fd
    }

    /// Makes a new directory's entry durable in its parent.
    private static func syncParentDirectory(of path: String) {
        var parent = path
        while parent.count > 1 && parent.hasSuffix("/") { parent.removeLast() }
        if let slash = parent.lastIndex(of: "/") {
            parent = slash == parent.startIndex ? "/" : String(parent[..<slash])
        } else {
            parent = "."
        }
        let fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    private static func makeParents(of path: String) throws(SessionError) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).dropLast()
        var current = path.hasPrefix("/") ? "" : "."
        for part in parts {
            current += "/" + part
            if mkdir(current, 0o700) != 0 && errno != EEXIST {
                let code = errno
                throw SessionError(.storeUnavailable, "cannot create the session directory's parent \(current): \(describe(code)); create \(path) by hand with mode 0700")
            }
        }
    }

    // MARK: Reading

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
            let header = bytes.withUnsafeBytes { raw -> FilesystemEntryFormat.Header? in
                guard let header = FilesystemEntryFormat.parseHeader(raw), header.key == key else { return nil }
                let body = UnsafeRawBufferPointer(rebasing: raw[header.size...])
                guard header.length == body.count, FilesystemEntryFormat.checksum(body) == header.checksum else { return nil }
                return header
            }
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

    // MARK: Writing

    /// `renameat2`, looked up at run time (glibc 2.28+, Linux 3.15+), for `RENAME_EXCHANGE`.
    typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UInt32) -> Int32
    static let renameat2: RenameAt2? = {
        #if os(Linux)
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: RenameAt2.self)
        #else
        return nil
        #endif
    }()
    static let renameExchange: UInt32 = 2  // RENAME_EXCHANGE
    /// The most spare files kept for reuse.
    static let maximumSpares = 64

    /// Replaces the file `name` with `contents` in one step and returns when done.
    ///
    /// The contents go to a spare file of this store (a temporary name), which is synced
    /// (unless ``Durability/fast``) and then exchanged with the session's file by
    /// `renameat2(RENAME_EXCHANGE)`: the session's name now holds the new file, and the spare
    /// name the old one, whose inode the next write reuses. Creating and freeing an inode per
    /// save, as a plain write-and-rename does, is what makes that slow on ext4, whose inode
    /// allocator scans past recently deleted inodes. Where exchanging is not possible (the
    /// session has no file yet, or the file system cannot) a plain rename installs the spare.
    /// On failure the spare is removed and the session's file stays as it was.
    ///
    /// The swap happens under the key's lock (``lockKey(_:wait:)``): held by the caller
    /// (`lockHeld`), or else taken here, after the spare is written and synced, and released
    /// before the directory is synced, so that it is held only for the check and the swap.
    ///
    /// - Parameters:
    ///   - onlyIfPresent: never create the session's file: when it has none, write nothing
    ///     and return `false`.
    ///   - check: called under the lock just before the swap; `false` writes nothing and
    ///     returns `false`.
    /// - Returns: whether the file was replaced.
    @discardableResult
    func writeAtomically(
        name: [CChar], key: [UInt8], contents: [UInt8], lockHeld: Bool, onlyIfPresent: Bool = false,
        check: (() throws(SessionError) -> Bool)? = nil
    ) throws(SessionError) -> Bool {
        var attempt = 0
        while true {
            attempt += 1
            let spare = try writeSpare(for: name, contents: contents)
            var lock: Int32 = -1
            if !lockHeld {
                do { lock = try lockKey(key, wait: true)! } catch {
                    unlinkat(directoryDescriptor, spare, 0)
                    throw error
                }
            }
            let outcome: InstallOutcome
            do throws(SessionError) {
                if let check, try !check() {
                    outcome = .refused
                } else {
                    outcome = try install(spare: spare, as: name, onlyIfPresent: onlyIfPresent)
                }
            } catch {
                if lock >= 0 { close(lock) }
                keepSpare(spare)
                throw error
            }
            if lock >= 0 { close(lock) }
            switch outcome {
            case .installed:
                break
            case .refused:
                keepSpare(spare)
                return false
            case .spareMissing:
                if attempt < 3 { continue }  // the spare was pruned meanwhile: write again
                throw failure("save", "\(displayPath(name)) (renaming \(displayPath(spare)) over it)", ENOENT, unchanged: true)
            }
            if durability.syncsDirectory {
                let code = directorySync.sync(directoryDescriptor)
                if code != 0 { throw failure("sync the directory after saving", displayPath(name), code) }
            }
            return true
        }
    }

    /// Writes `contents` into a spare file (reused or new), synced unless ``Durability/fast``,
    /// and returns its name. On failure the spare is removed.
    func writeSpare(for name: [CChar], contents: [UInt8]) throws(SessionError) -> [CChar] {
        let spare = spares.withLock { $0.popLast() } ?? temporaryName()
        let fd = openat(directoryDescriptor, spare, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, mode_t(mode))
        guard fd >= 0 else {
            throw failure("save", "\(displayPath(name)) (opening its temporary file \(displayPath(spare)))", errno, unchanged: true)
        }
        var failed: SessionError?
        func fail(_ step: String, _ code: Int32) {
            if failed == nil { failed = failure("save", "\(displayPath(name)) (\(step) \(displayPath(spare)))", code, unchanged: true) }
        }
        var info = stat()
        if fstat(fd, &info) != 0 {
            fail("inspecting", errno)
        } else if info.st_mode & S_IFMT != S_IFREG {
            fail("using", EINVAL)
        } else if Int(info.st_mode) & 0o7777 != mode, fchmod(fd, mode_t(mode)) != 0 {
            fail("setting the mode of", errno)
        }
        if failed == nil {
            contents.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(done))
                    if n >= 0 {
                        done += n
                    } else if errno != EINTR {
                        fail("writing", errno)
                        return
                    }
                }
            }
        }
        if failed == nil && Int(info.st_size) > contents.count && ftruncate(fd, off_t(contents.count)) != 0 {
            fail("truncating", errno)
        }
        // The write set the modification time, where the TTL starts, to the real time; an
        // injected clock that differs from it by more than a second gets its own time.
        let clockTime = clock.now()
        if failed == nil && abs(SessionClock.system.now() - clockTime) > 1 {
            var times = [Self.timespec(clockTime), Self.timespec(clockTime)]
            if futimens(fd, &times) != 0 { fail("setting the times of", errno) }
        }
        if failed == nil && durability.syncsFiles {
            let started = SessionClock.system.now()
            if fsync(fd) != 0 {
                fail("syncing", errno)
            } else if SessionClock.system.now() - started > 1 && abs(started - clockTime) <= 1 {
                // A sync that took seconds (a busy disk) would eat into a short TTL: start it now.
                _ = futimens(fd, nil)
            }
        }
        if close(fd) != 0 { fail("closing", errno) }
        if let failed {
            unlinkat(directoryDescriptor, spare, 0)
            throw failed
        }
        return spare
    }

    enum InstallOutcome {
        case installed
        /// The session has no file (only with `onlyIfPresent`), or the check refused the write.
        case refused
        /// The spare file vanished (a prune took it for a stale temporary file).
        case spareMissing
    }

    /// Puts the written spare file under `name`: exchanged with the session's file, or renamed
    /// over it. The caller holds the key's lock.
    func install(spare: [CChar], as name: [CChar], onlyIfPresent: Bool) throws(SessionError) -> InstallOutcome {
        var exchangeError: Int32?
        if exchangeAvailable.load(ordering: .relaxed), let exchange = Self.renameat2 {
            exchangeError = exchange(directoryDescriptor, spare, directoryDescriptor, name, Self.renameExchange) == 0 ? 0 : errno
        }
        if exchangeError == 0 {
            // Keep what came back for reuse, if it is a plain file (a link or a directory
            // planted under the session's name is simply removed).
            var old = stat()
            let reusable = fstatat(directoryDescriptor, spare, &old, AT_SYMLINK_NOFOLLOW) == 0 && old.st_mode & S_IFMT == S_IFREG
            let kept = reusable && spares.withLock { list -> Bool in
                guard list.count < Self.maximumSpares else { return false }
                list.append(spare)
                return true
            }
            if !kept {
                let isDirectory = old.st_mode & S_IFMT == S_IFDIR
                unlinkat(directoryDescriptor, spare, isDirectory ? AT_REMOVEDIR : 0)
            }
            return .installed
        }
        if let code = exchangeError {
            if code == EINVAL || code == ENOSYS || code == EOPNOTSUPP || code == EXDEV {
                exchangeAvailable.store(false, ordering: .relaxed)  // this file system cannot exchange
            } else if code == ENOENT {
                // One of the two names is missing: the spare (pruned) or the session's file.
                var info = stat()
                if fstatat(directoryDescriptor, spare, &info, AT_SYMLINK_NOFOLLOW) != 0 { return .spareMissing }
                if onlyIfPresent { return .refused }
            } else {
                unlinkat(directoryDescriptor, spare, 0)
                throw failure("save", "\(displayPath(name)) (exchanging \(displayPath(spare)) with it)", code, unchanged: true)
            }
        }
        if onlyIfPresent {
            // No exchange on this file system: check for the session's file, then rename over
            // it. Writers holding the lock cannot remove it in between.
            var info = stat()
            if fstatat(directoryDescriptor, name, &info, AT_SYMLINK_NOFOLLOW) != 0 {
                let code = errno
                if code == ENOENT { return .refused }
                unlinkat(directoryDescriptor, spare, 0)
                throw failure("save", displayPath(name), code, unchanged: true)
            }
        }
        // No session file yet (or no exchange here): install the spare by renaming it.
        if renameat(directoryDescriptor, spare, directoryDescriptor, name) != 0 {
            let code = errno
            if code == ENOENT { return .spareMissing }
            unlinkat(directoryDescriptor, spare, 0)
            throw failure("save", "\(displayPath(name)) (renaming \(displayPath(spare)) over it)", code, unchanged: true)
        }
        return .installed
    }

    /// Keeps a written spare file that was not installed for reuse, or removes it.
    func keepSpare(_ spare: [CChar]) {
        let kept = spares.withLock { list -> Bool in
            guard list.count < Self.maximumSpares, !list.contains(spare) else { return false }
            list.append(spare)
            return true
        }
        if !kept { unlinkat(directoryDescriptor, spare, 0) }
    }

    /// Deletes the file `name` under the key's lock (held by the caller when `lockHeld`).
    func remove(name: [CChar], key: [UInt8], lockHeld: Bool) throws(SessionError) {
        let lock = lockHeld ? -1 : try lockKey(key, wait: true)!
        let status = unlinkat(directoryDescriptor, name, 0)
        let code = errno
        if lock >= 0 { close(lock) }
        if status != 0 {
            if code == ENOENT { return }
            throw failure("delete", displayPath(name), code)
        }
        if durability.syncsDeletes {
            let code = directorySync.sync(directoryDescriptor)
            if code != 0 { throw failure("sync the directory after deleting", displayPath(name), code) }
        }
    }

    // MARK: Scanning and pruning

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
