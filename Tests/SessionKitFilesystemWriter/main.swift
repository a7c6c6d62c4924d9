// A child process for the filesystem store's tests: several of them write to one directory
// at once, one is killed mid-write, one runs under a file size limit.
//
//   SessionKitFilesystemWriter write <directory> <writer> <rounds>
//       saves its own key and a shared key <rounds> times, checking after each save that
//       its own key reads back and that the shared key holds one whole value
//   SessionKitFilesystemWriter loop <directory> <key>
//       saves <key> over and over, printing "ready" after the first save, until killed (or
//       until its parent process is gone)
//   SessionKitFilesystemWriter fill <directory> <key> <limit-bytes>
//       sets RLIMIT_FSIZE to <limit-bytes> with SIGXFSZ ignored, saves a value larger than
//       that, and prints the error's code and message
//   SessionKitFilesystemWriter increment <directory> <key> <increments> <tasks>
//       in <tasks> concurrent tasks, adds 1 to the decimal counter stored under <key>
//       <increments> times each, by conditional read-modify-write (loadVersioned, then
//       save(ifVersion:), again on a conflict); prints "ok conflicts=<n>"
//   SessionKitFilesystemWriter denied <directory> <key> <uid:gid|->
//       first takes the user id <uid> and group id <gid>, when given (the tests run as root,
//       who writes anywhere: a user without that privilege shows permission errors), then
//       saves <key>, makes <directory> read-only (0500) and saves <key> again; prints
//       "euid=<n>", the second save's "code=" and "message=", and "kept" when <key> still
//       loads its first value
//
// Exit status 0 means every check passed; a failure prints a line starting with "FAIL".

import SessionKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value of about 8 KB (several pages) that says who wrote it, so that a torn or mixed
/// file is detected: `{"w":<writer>,"r":<round>,"pad":"<8000 copies of one letter>"}`.
func makeValue(writer: Int, round: Int) -> [UInt8] {
    let letter = Character(UnicodeScalar(UInt8(ascii: "a") + UInt8((writer &+ round) % 26)))
    return Array("{\"w\":\(writer),\"r\":\(round),\"pad\":\"\(String(repeating: letter, count: 8000))\"}".utf8)
}

/// The writer and round of a whole value, or nil when the bytes are not one.
func parseValue(_ bytes: [UInt8]) -> (writer: Int, round: Int)? {
    let text = String(decoding: bytes, as: UTF8.self)
    let parts = text.split(separator: ",", maxSplits: 2)
    guard parts.count == 3, parts[0].hasPrefix("{\"w\":"), parts[1].hasPrefix("\"r\":"),
        let writer = Int(parts[0].dropFirst(5)), let round = Int(parts[1].dropFirst(4))
    else { return nil }
    return makeValue(writer: writer, round: round) == bytes ? (writer, round) : nil
}

func fail(_ message: String) -> Never {
    print("FAIL \(message)")
    exit(1)
}

/// Adds 1 to the counter under `key`, `increments` times in each of `tasks` tasks, by
/// conditional read-modify-write; returns how many conditional saves were refused.
func increment(store: FilesystemSessionStore, key: String, increments: Int, tasks: Int) async throws -> Int {
    try await withThrowingTaskGroup(of: Int.self) { group in
        for task in 0..<tasks {
            group.addTask {
                var conflicts = 0
                for round in 0..<increments {
                    while true {
                        guard let (bytes, version) = try await store.loadVersioned(key: key) else { fail("task \(task) round \(round): the counter is missing") }
                        guard let count = Int(String(decoding: bytes, as: UTF8.self)) else { fail("task \(task) round \(round): the counter holds \(bytes.count) bytes that are not a number") }
                        if try await store.save(key: key, value: Array(String(count + 1).utf8), ttl: 600, ifVersion: version) { break }
                        conflicts += 1
                    }
                }
                return conflicts
            }
        }
        var total = 0
        for try await conflicts in group { total += conflicts }
        return total
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 4 else {
    print("usage: SessionKitFilesystemWriter write|loop|fill|increment|denied <directory> ...")
    exit(64)
}
let directory = arguments[2]

switch arguments[1] {
case "write":
    guard arguments.count == 5, let writer = Int(arguments[3]), let rounds = Int(arguments[4]) else { exit(64) }
    let store = try FilesystemSessionStore(directory: directory)
    for round in 0..<rounds {
        let value = makeValue(writer: writer, round: round)
        try await store.save(key: "mp:own\(writer)", value: value, ttl: 600)
        try await store.save(key: "mp:shared", value: value, ttl: 600)
        guard try await store.load(key: "mp:own\(writer)") == value else { fail("writer \(writer) round \(round): own key does not read back") }
        guard let shared = try await store.load(key: "mp:shared") else { fail("writer \(writer) round \(round): shared key missing") }
        guard parseValue(shared) != nil else { fail("writer \(writer) round \(round): shared key holds a torn value of \(shared.count) bytes") }
    }
    print("ok \(writer)")

case "loop":
    let store = try FilesystemSessionStore(directory: directory)
    let key = arguments[3]
    var round = 0
    let parent = getppid()
    // Until killed, or until the test process that started it is gone (it crashed or was
    // interrupted and could not kill it): an orphan would keep a core busy.
    while getppid() == parent {
        try await store.save(key: key, value: makeValue(writer: 0, round: round), ttl: 600)
        if round == 0 {
            print("ready")
            fflush(nil)
        }
        round += 1
    }

case "fill":
    guard arguments.count == 5, let limit = Int(arguments[4]) else { exit(64) }
    signal(SIGXFSZ, SIG_IGN)
    var rl = rlimit(rlim_cur: rlim_t(limit), rlim_max: rlim_t(limit))
    #if canImport(Glibc)
    guard setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &rl) == 0 else { fail("setrlimit: errno \(errno)") }
    #else
    guard setrlimit(RLIMIT_FSIZE, &rl) == 0 else { fail("setrlimit: errno \(errno)") }
    #endif
    let store = try FilesystemSessionStore(directory: directory)
    do {
        try await store.save(key: arguments[3], value: [UInt8](repeating: UInt8(ascii: "x"), count: limit * 4), ttl: 600)
        print("saved")
        exit(2)
    } catch let error as SessionError {
        print("code=\(error.code)")
        print("message=\(error.message)")
    }

case "increment":
    guard arguments.count == 6, let increments = Int(arguments[4]), let tasks = Int(arguments[5]) else { exit(64) }
    let store = try FilesystemSessionStore(directory: directory)
    let key = arguments[3]
    let conflicts = try await increment(store: store, key: key, increments: increments, tasks: tasks)
    print("ok conflicts=\(conflicts)")

case "denied":
    guard arguments.count == 5 else { exit(64) }
    let ids = arguments[4].split(separator: ":").compactMap { UInt32($0) }
    if ids.count == 2 {
        let (uid, gid) = (ids[0], ids[1])
        // Groups first: once the user id is dropped, they can no longer be changed.
        guard setgroups(0, nil) == 0, setgid(gid) == 0, setuid(uid) == 0 else { fail("cannot become uid \(uid), gid \(gid): errno \(errno)") }
        guard geteuid() == uid, setuid(0) != 0 else { fail("uid \(uid) could take root back") }
    }
    print("euid=\(geteuid())")
    let store = try FilesystemSessionStore(directory: directory)
    let key = arguments[3]
    try await store.save(key: key, value: [1], ttl: 600)
    guard chmod(directory, 0o500) == 0 else { fail("chmod 0500: errno \(errno)") }
    defer { chmod(directory, 0o700) }
    do {
        try await store.save(key: key, value: [2], ttl: 600)
        print("saved")
    } catch let error as SessionError {
        print("code=\(error.code)")
        print("message=\(error.message)")
    }
    if try await store.load(key: key) == [1] { print("kept") }

default:
    print("unknown command \(arguments[1])")
    exit(64)
}
