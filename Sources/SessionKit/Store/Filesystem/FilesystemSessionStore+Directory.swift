#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Opening (and creating) FilesystemSessionStore's directory, with its safety checks.

extension FilesystemSessionStore {
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
}
