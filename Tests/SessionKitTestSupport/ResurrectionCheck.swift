import Foundation
import SessionKit
import Synchronization

/// A one-shot gate: tasks that ``wait()`` resume once ``open()`` was called (at once if it was).
public final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    public func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    public func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}

/// A session that ended while another request held it must stay ended.
///
/// The check, through one middleware:
/// 1. the victim logs in (`user = "alice"`); an attacker holds a copy of the cookie;
/// 2. request A, with the copied cookie, loads the session and is held by a gate in its handler;
/// 3. the victim logs out (`invalidate()`), which deletes the stored session;
/// 4. A is released: it changes a value (``Variant/modify``), or regenerates the ID and changes
///    a value (``Variant/regenerate``), and its commit runs;
/// 5. requests with the copied cookie, and with whatever cookie A's response set, read `user`.
///
/// A store whose saves of loaded sessions only replace a live entry ends with no `user`;
/// one that saves with plain writes (the control, ``PlainSaveStore``) brings the session back.
public enum ResurrectionCheck {
    public enum Variant: String, Sendable, CaseIterable {
        /// A changes a value and commits.
        case modify
        /// A calls `regenerateID()` (a login or privilege change), changes a value and commits.
        case regenerate
    }

    public struct Outcome: Sendable {
        /// Whether A's handler saw the logged-in session before the logout (it must).
        public var heldRequestSawUser: Bool
        /// A's `SessionResult.discardedSessions`.
        public var heldRequestDiscarded: [String]
        /// Whether A's response expired the session cookie.
        public var heldRequestExpiredCookie: Bool
        /// What a request with the copied cookie read as `user` afterwards.
        public var userWithCopiedCookie: SessionValue?
        /// What a request with the cookie A's response left read as `user` afterwards.
        public var userWithHeldRequestsCookie: SessionValue?

        /// True when the ended session's data could be read again.
        public var resurrected: Bool { userWithCopiedCookie != nil || userWithHeldRequestsCookie != nil }
    }

    public static func run(middleware: SessionMiddleware, variant: Variant, sessionName: String = "session") async throws -> Outcome {
        let victim = TestBrowser()
        _ = try await victim.request(middleware) { context in
            let session = try await context.session(sessionName)
            try session.regenerateID()
            // A user of this run only: runs in parallel over one store do not share an index.
            try session.bindUser("alice-\(UInt64.random(in: 0...UInt64.max))", device: "victim")
            session["user"] = "alice"
        }
        let stolen = victim.cookieHeaders
        guard !stolen.isEmpty else { throw FixtureError("ResurrectionCheck: the login set no cookie") }

        let loaded = Gate()
        let release = Gate()
        let heldRequest = Task {
            try await middleware.handle(cookieHeaders: stolen) { context -> Bool in
                let session = try await context.session(sessionName)
                let sawUser = session["user"] == "alice"
                loaded.open()
                await release.wait()
                if variant == .regenerate { try session.regenerateID() }
                session["cart"] = .int(1)
                return sawUser
            }
        }
        await loaded.wait()
        _ = try await victim.request(middleware) { context in try await context.session(sessionName).invalidate() }
        release.open()
        let held = try await heldRequest.value

        let attacker = TestBrowser()
        for header in stolen {
            for pair in header.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2 { attacker.set(String(parts[0]), String(parts[1])) }
            }
        }
        let withCopy = try await middleware.handle(cookieHeaders: stolen) { try await $0.session(sessionName)["user"] }.value
        attacker.receive(held.setCookies)
        let withHeld = try await attacker.request(middleware) { try await $0.session(sessionName)["user"] }.value
        return Outcome(
            heldRequestSawUser: held.value, heldRequestDiscarded: held.discardedSessions,
            heldRequestExpiredCookie: held.setCookies.contains { $0.lowercased().contains("max-age=0") },
            userWithCopiedCookie: withCopy, userWithHeldRequestsCookie: withHeld)
    }
}

/// The control of ``ResurrectionCheck``: a store wrapper with the saves of a store that does
/// not care whether a session ended. ``replace(key:value:ttl:)`` writes whether or not the
/// entry lives, and ``touch(key:ttl:)`` always reports the entry alive. It is not a
/// ``VersionedSessionStore``, so nothing is saved conditionally either.
public final class PlainSaveStore<Base: SessionStore>: SessionStore {
    public let base: Base

    public init(_ base: Base) { self.base = base }

    public func load(key: String) async throws -> [UInt8]? { try await base.load(key: key) }
    public func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]? { try await base.loadAndTouch(key: key, ttl: ttl) }
    public func save(key: String, value: [UInt8], ttl: Int?) async throws { try await base.save(key: key, value: value, ttl: ttl) }
    public func delete(key: String) async throws { try await base.delete(key: key) }
    public func touch(key: String, ttl: Int?) async throws -> Bool {
        _ = try await base.touch(key: key, ttl: ttl)
        return true
    }
    public func replace(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        try await base.save(key: key, value: value, ttl: ttl)
        return true
    }
}
