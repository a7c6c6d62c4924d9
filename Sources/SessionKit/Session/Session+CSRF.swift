import SessionKitCrypto

/// The session's CSRF token, kept under ``Session/csrfKey`` as pyramid does.
extension Session {
    /// Returns the session's CSRF token, creating and storing one (256 random bits) if needed.
    ///
    /// - Throws: ``SessionError`` only if the OS refuses random bytes.
    public func csrfToken() throws -> String {
        if let existing = state.withLock({ state -> String? in
            state.isAccessed = true
            return state.data[Session.csrfKey]?.stringValue
        }) {
            return existing
        }
        let token = try SessionID.generate()
        return state.withLock {
            if let raced = $0.data[Session.csrfKey]?.stringValue { return raced }
            $0.assign(Session.csrfKey, .string(token))
            return token
        }
    }

    /// Replaces the CSRF token with a new one and returns it (rotate it at login).
    ///
    /// - Throws: ``SessionError`` only if the OS refuses random bytes.
    @discardableResult
    public func newCSRFToken() throws -> String {
        let token = try SessionID.generate()
        state.withLock {
            $0.isAccessed = true
            $0.assign(Session.csrfKey, .string(token))
        }
        return token
    }

    /// Checks a token sent with a request against the session's token, in constant time.
    ///
    /// - Returns: `false` when the session has no token or the tokens differ.
    public func isValidCSRFToken(_ supplied: String) -> Bool {
        guard let expected = state.withLock({ state -> String? in
            state.isAccessed = true
            return state.data[Session.csrfKey]?.stringValue
        }) else { return false }
        return ConstantTime.isEqual(expected.utf8, supplied.utf8)
    }
}
