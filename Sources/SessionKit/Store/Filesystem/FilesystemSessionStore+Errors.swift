#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The errors of FilesystemSessionStore's system calls, as messages that name the cause.

extension FilesystemSessionStore {
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
}
