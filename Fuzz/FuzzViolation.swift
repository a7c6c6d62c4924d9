// Shared by the fuzz targets (Fuzz/Targets) and the replay tests. Each test target's Fuzzing/
// directory links this one file; scripts/fuzz.sh compiles it into the libFuzzer binaries,
// `swift test` into the test targets.

/// A property a fuzz target checks that did not hold for an input.
struct FuzzViolation: Error, CustomStringConvertible {
    let description: String
}

/// Throws a ``FuzzViolation`` carrying `message` when `condition` is false.
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzViolation) {
    if !condition { throw FuzzViolation(description: message()) }
}

/// A printable form of fuzz input bytes for violation messages.
func fuzzDescribe(_ bytes: some Sequence<UInt8>, limit: Int = 200) -> String {
    var text = ""
    for (i, byte) in bytes.enumerated() {
        if i == limit { return text + "..." }
        if byte >= 0x20 && byte < 0x7F && byte != 0x5C {
            text.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }
    }
    return text
}
