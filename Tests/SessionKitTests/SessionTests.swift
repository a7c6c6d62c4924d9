import Testing
import SessionKit

@Suite("Session")
struct SessionTests {
    func fresh() -> Session { Session(id: "id", isNew: true, createdAt: 100, accessedAt: 100) }

    @Test func tracksAccessAndModification() {
        let s = Session(id: "id", data: ["a": 1], isNew: false, createdAt: 1, accessedAt: 2)
        #expect(!s.isAccessed && !s.isModified)
        #expect(s["a"] == 1)
        #expect(s.isAccessed && !s.isModified)
        s["missing"] = nil
        #expect(!s.isModified, "removing an absent key changes nothing")
        s["b"] = "x"
        #expect(s.isModified)
        #expect(s.removeValue(forKey: "b") == "x")
        #expect(s.keys == ["a"])
        #expect(s.storedID == "id")
    }

    @Test func updateIsAtomicAndTracksChanges() async {
        let s = fresh()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask { s.update { $0["n"] = .int(($0["n"]?.intValue ?? 0) + 1) } }
            }
        }
        #expect(s["n"] == 200)
        #expect(s.isModified)
        let t = Session(id: "t", data: ["n": 1], isNew: false, createdAt: 0, accessedAt: 0)
        t.update { _ in }
        #expect(!t.isModified)
    }

    struct Profile: Codable, Equatable {
        var name: String
        var roles: [String]
        var age: Int?
    }

    @Test func typedValuesRoundTrip() throws {
        let s = fresh()
        try s.set(Profile(name: "ada", roles: ["admin"], age: nil), forKey: "profile")
        #expect(s["profile"] == ["name": "ada", "roles": ["admin"]])
        #expect(try s.get(Profile.self, forKey: "profile") == Profile(name: "ada", roles: ["admin"], age: nil))
        try s.set(42, forKey: "n")
        #expect(try s.get(Int.self, forKey: "n") == 42)
        #expect(try s.get(Int.self, forKey: "absent") == nil)
        let error = #expect(throws: SessionError.self) { try s.get(Profile.self, forKey: "n") }
        #expect(error?.code == .decodingFailed)
        #expect(throws: SessionError.self) { try s.set(Double.nan, forKey: "bad") }
        #expect(s["bad"] == nil, "a failed set stores nothing")
    }

    @Test func flashQueuesAsPyramidStoresThem() {
        let s = fresh()
        s.flash("saved")
        s.flash("saved", allowDuplicate: false)
        s.flash("oops", queue: "error")
        #expect(s["_f_"] == ["saved"])
        #expect(s["_f_error"] == ["oops"])
        #expect(s.peekFlash() == ["saved"])
        #expect(s.popFlash() == ["saved"])
        #expect(s.popFlash() == [])
        #expect(s.popFlash(queue: "error") == ["oops"])
        #expect(s.isEmpty)
    }

    @Test func csrfTokenIsLazyStableAndRotates() throws {
        let s = Session(id: "id", isNew: false, createdAt: 0, accessedAt: 0)
        #expect(!s.isValidCSRFToken(""))
        #expect(!s.isModified)
        let token = try s.csrfToken()
        #expect(s.isModified)
        #expect(s["_csrft_"] == .string(token))
        #expect(try s.csrfToken() == token)
        #expect(s.isValidCSRFToken(token))
        #expect(!s.isValidCSRFToken(token + "x"))
        // The same length, last character changed (to one it is not already).
        #expect(!s.isValidCSRFToken(String(token.dropLast()) + (token.hasSuffix("A") ? "B" : "A")))
        let rotated = try s.newCSRFToken()
        #expect(rotated != token)
        #expect(!s.isValidCSRFToken(token))
        #expect(s.isValidCSRFToken(rotated))
    }

    @Test func regenerateKeepsDataAndChangesID() throws {
        let s = Session(id: "old", data: ["user": "ada"], isNew: false, createdAt: 0, accessedAt: 0)
        try s.regenerateID()
        #expect(s.id != "old")
        #expect(s.storedID == "old")
        #expect(s["user"] == "ada")
        #expect(s.isModified)
    }

    @Test func invalidateClearsAndStartsOver() throws {
        let s = Session(id: "old", data: ["user": "ada"], isNew: false, createdAt: 0, accessedAt: 0)
        try s.invalidate()
        #expect(s.isInvalidated && s.isNew && s.isEmpty)
        #expect(s.id != "old")
        #expect(s.storedID == "old")
        #expect(s.createdAt > 0)
    }

    @Test func descriptionRevealsNothing() {
        let s = Session(id: "secret-id", data: ["password": "hunter2"], isNew: false, createdAt: 0, accessedAt: 0)
        #expect(!s.description.contains("secret-id"))
        #expect(!s.description.contains("hunter2"))
    }
}
