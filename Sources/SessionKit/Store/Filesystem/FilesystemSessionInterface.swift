/// The store-backed interface over a ``FilesystemSessionStore``: sanic_session's
/// `FilesystemSessionInterface` naming, Werkzeug secure_cookie's store underneath.
///
/// ```swift
/// let interface = try FilesystemSessionInterface(
///     configuration: .default, directory: "/var/lib/myapp/sessions")
/// let pruning = Task { await interface.prunePeriodically(every: .seconds(600)) }
/// ```
public typealias FilesystemSessionInterface = StoreSessionInterface<FilesystemSessionStore>

extension StoreSessionInterface where Store == FilesystemSessionStore {
    /// Creates an interface with its own filesystem store.
    ///
    /// - Parameters:
    ///   - configuration: the cookie and lifetime options; ``SessionConfiguration/expiry``
    ///     becomes each file's time to live.
    ///   - directory: where session files live; `nil` for
    ///     ``FilesystemSessionStore/defaultDirectory``.
    ///   - filenameTemplate: the file name with `%s` for the key.
    ///   - renewMissing: secure_cookie's `renew_missing`. `true` gives a fresh ID to a
    ///     well-formed session ID that has no file; `false` adopts it (secure_cookie's
    ///     default, open to session fixation). `nil` (default) keeps
    ///     ``SessionConfiguration/adoptUnknownIDs``, which renews.
    ///   - mode: the permission bits of session files (default `0o600`).
    ///   - durability: whether saves are synced to disk (default ``FilesystemSessionStore/Durability/durable``).
    ///   - clock: the clock for expiry and cookie dates.
    /// - Throws: ``SessionError`` for an invalid configuration or an unusable directory.
    public init(
        configuration: SessionConfiguration = .default,
        directory: String? = nil,
        filenameTemplate: String = FilesystemSessionStore.defaultFilenameTemplate,
        renewMissing: Bool? = nil,
        mode: Int = 0o600,
        durability: FilesystemSessionStore.Durability = .durable,
        clock: SessionClock = .system
    ) throws {
        var configuration = configuration
        if let renewMissing { configuration.adoptUnknownIDs = !renewMissing }
        let store = try FilesystemSessionStore(
            directory: directory, filenameTemplate: filenameTemplate, mode: mode, durability: durability, clock: clock)
        try self.init(store: store, configuration: configuration, clock: clock)
    }

    /// The IDs of the live sessions of this interface: the store's keys under
    /// ``SessionConfiguration/prefix``, without it (secure_cookie's `list()`).
    public func list() async throws -> [String] {
        try await store.list(prefix: configuration.prefix).filter { SessionID.isWellFormed($0) }
    }

    /// Deletes expired session files and stale temporary files now; see
    /// ``FilesystemSessionStore/prune(staleTemporaryFileAge:)``.
    @discardableResult
    public func prune() async throws -> FilesystemSessionStore.PruneReport {
        try await store.prune()
    }

    /// Prunes every `interval` until the calling task is cancelled; see
    /// ``FilesystemSessionStore/prunePeriodically(every:onError:)``.
    public func prunePeriodically(
        every interval: Duration = .seconds(600), onError: @escaping @Sendable (any Error) -> Void = { _ in }
    ) async {
        await store.prunePeriodically(every: interval, onError: onError)
    }
}
