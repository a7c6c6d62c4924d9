#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Writing session files in one step. Everything here blocks and runs on the store's I/O
// pool; names are NUL-terminated C strings relative to `directoryDescriptor`.

extension FilesystemSessionStore {
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
}
