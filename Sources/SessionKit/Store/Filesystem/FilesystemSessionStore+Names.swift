#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// File names of FilesystemSessionStore: keys to names and back, temporary names, and
// names as shown in messages.

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
}
