/// What a read-modify-write of one entry decided from the value it read.
enum EntryUpdate<Result> {
    /// Write this value, then return the result.
    case write([UInt8], Result)
    /// Write nothing and return the result.
    case keep(Result)
}

extension SessionStore {
    /// Changes the entry under `key` as one step for other writers: reads it, lets `decide`
    /// compute the new value from what it read (`nil` when there is no entry), and writes it
    /// conditionally on the version read (``VersionedSessionStore``), or, when there was no
    /// entry, creates it only if it is still missing; when another writer got in between, it
    /// reads again, at most `attempts` times.
    ///
    /// A store that cannot save conditionally gets a plain read, change and write, which is
    /// not one step.
    ///
    /// - Throws: `exhausted` when every attempt met another writer, or the store's error.
    nonisolated(nonsending) func updateEntry<R>(
        key: String, ttl: Int?, attempts: Int, exhausted: @autoclosure () -> SessionError,
        _ decide: nonisolated(nonsending) (_ current: [UInt8]?) async throws -> EntryUpdate<R>
    ) async throws -> R {
        let versioned = self as? any VersionedSessionStore
        for _ in 0..<attempts {
            if let versioned {
                if let (bytes, version) = try await versioned.loadVersioned(key: key) {
                    switch try await decide(bytes) {
                    case .keep(let result):
                        return result
                    case .write(let value, let result):
                        if try await versioned.save(key: key, value: value, ttl: ttl, ifVersion: version) { return result }
                        continue
                    }
                }
            } else if let bytes = try await load(key: key) {
                switch try await decide(bytes) {
                case .keep(let result):
                    return result
                case .write(let value, let result):
                    try await save(key: key, value: value, ttl: ttl)
                    return result
                }
            }
            switch try await decide(nil) {
            case .keep(let result):
                return result
            case .write(let value, let result):
                if try await create(key: key, value: value, ttl: ttl) { return result }
            }
        }
        throw exhausted()
    }
}
