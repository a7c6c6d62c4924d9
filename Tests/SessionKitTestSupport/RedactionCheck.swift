import SessionKit

/// Checks that error texts do not carry a session ID, whole or in part.
///
/// A generated ID is embedded in hostile replies (error lines, malformed lines, values, keys);
/// every error those replies cause must be free of every 8-byte piece of the ID, so neither
/// the ID nor a useful part of it can reach a log.
public struct RedactionCheck: Sendable {
    /// A fresh session ID.
    public let id: String
    /// The store key holding it: `session:<id>`.
    public var key: String { "session:" + id }

    /// Creates a check around a freshly generated ID.
    public init() throws {
        id = try SessionID.generate()
    }

    /// The first 8-byte piece of the ID found in `text`, or `nil` when there is none (and so
    /// no longer piece either).
    public func leak(in text: String) -> String? {
        let id = Array(self.id.utf8)
        let text = Array(text.utf8)
        guard text.count >= 8 else { return nil }
        for start in 0...(id.count - 8) {
            let piece = id[start..<(start + 8)]
            var index = 0
            while index + 8 <= text.count {
                if text[index..<(index + 8)].elementsEqual(piece) { return String(decoding: piece, as: UTF8.self) }
                index += 1
            }
        }
        return nil
    }

    /// The first 8-byte piece of the ID in the error's description or message, if any.
    public func leak(in error: any Error) -> String? {
        if let error = error as? SessionError, let piece = leak(in: error.message) { return piece }
        return leak(in: "\(error)") ?? leak(in: String(reflecting: error))
    }
}
