#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Beyond the ``SessionStore`` protocol: where a key's file is, which keys are stored, and
/// pruning expired sessions and stale temporary files.
extension FilesystemSessionStore {
    /// The path of the file that holds `key`.
    ///
    /// - Throws: ``SessionError`` with code `invalidKey` when `key` cannot name a file safely.
    public func path(forKey key: String) throws(SessionError) -> String {
        var name = try fileName(forKey: key)
        name.removeLast()  // the NUL terminator
        return directory + "/" + String(decoding: name.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Lists the keys of the live sessions in the directory: secure_cookie's `list()`.
    ///
    /// Files whose names do not fit the template or do not hold a valid key, files in
    /// another format, and expired sessions are left out.
    ///
    /// - Parameter prefix: when given, only keys that start with `prefix` are listed, and
    ///   without it: pass the interface's ``SessionConfiguration/prefix`` to get session IDs.
    /// - Returns: the keys (or IDs), sorted.
    public func list(prefix: String? = nil) async throws -> [String] {
        let now = clock.now()
        return try await pool.run { () throws(SessionError) in
            var keys: [String] = []
            try self.scanDirectory { (name: [CChar], isTemporary: Bool) throws(SessionError) in
                guard !isTemporary, let key = self.key(fromFileName: name) else { return }
                var stripped = key
                if let prefix {
                    guard key.hasPrefix(prefix) else { return }
                    stripped = String(key.dropFirst(prefix.count))
                }
                // Listed when a load would return it: a regular file, whole and not expired.
                let keyBytes = Array(key.utf8)
                guard case .live = try self.inspect(name: name, key: keyBytes, now: now) else { return }
                if try self.readLive(name: name, key: keyBytes, now: now, touch: false, ttl: nil) != nil { keys.append(stripped) }
            }
            return keys.sorted()
        }
    }

    /// Deletes the files of expired sessions and the temporary files that interrupted writes
    /// left behind.
    ///
    /// Safe to run while servers use the directory, from several processes at once: an
    /// expired file is checked again through an open descriptor and deleted by name only if
    /// the name still holds that same, unchanged file, so a session saved or refreshed
    /// meanwhile is kept (at worst until the next prune), and a session deleted meanwhile is
    /// never brought back: prune only ever removes names.
    ///
    /// - Parameter staleTemporaryFileAge: seconds since a temporary file last changed after
    ///   which its writer is presumed dead (default 60; the store's own writes take far less).
    /// - Returns: what was removed.
    @discardableResult
    public func prune(staleTemporaryFileAge: Int = 60) async throws -> PruneReport {
        let now = clock.now()
        return try await pool.run { () throws(SessionError) in
            var report = PruneReport()
            let realNow = SessionClock.system.now()
            try self.scanDirectory { (name: [CChar], isTemporary: Bool) throws(SessionError) in
                if isTemporary {
                    if try self.removeStaleTemporary(name: name, olderThan: Double(staleTemporaryFileAge), realNow: realNow) {
                        report.staleTemporaryFiles += 1
                    }
                    return
                }
                guard let key = self.key(fromFileName: name).map({ Array($0.utf8) }) else { return }
                guard case .expired = try self.inspect(name: name, key: key, now: now) else { return }
                // Under the key's lock, so that no save lands between the re-check and the removal.
                let lock = try self.lockKey(key, wait: true)!
                defer { close(lock) }
                if try self.removeIfExpired(name: name, key: key, now: now) { report.expiredSessions += 1 }
            }
            // The removals reach the disk before prune returns, as deletes do.
            if report.expiredSessions > 0 && self.durability.syncsDeletes {
                let code = self.directorySync.sync(self.directoryDescriptor)
                if code != 0 { throw self.failure("sync the directory after pruning", self.directory, code) }
            }
            return report
        }
    }

    /// Runs ``prune(staleTemporaryFileAge:)`` every `interval` until the calling task is
    /// cancelled.
    ///
    /// ```swift
    /// let pruning = Task { await store.prunePeriodically(every: .seconds(600)) }
    /// // at shutdown
    /// pruning.cancel()
    /// ```
    ///
    /// - Parameters:
    ///   - interval: the pause between two prunes; the first prune runs after one interval.
    ///   - onError: called with the error of a prune that failed; pruning goes on.
    public func prunePeriodically(
        every interval: Duration = .seconds(600), onError: @escaping @Sendable (any Error) -> Void = { _ in }
    ) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            do { _ = try await prune() } catch { onError(error) }
        }
    }
}
