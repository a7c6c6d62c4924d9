import Foundation

/// The committed inputs of a fuzz target (see Fuzz/README.md): its seed corpus
/// `Fuzz/Corpus/<target>` and the inputs that once failed, `Fuzz/Regressions/<target>`.
/// The replay tests run them through the same checks as the libFuzzer binaries.
public enum FuzzInputs {
    /// One input file.
    public struct Input: Sendable, CustomStringConvertible {
        /// The path relative to the repository root.
        public let path: String
        /// The file's bytes.
        public let bytes: [UInt8]

        public var description: String { path }
    }

    /// The repository's Fuzz directory.
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    /// Every file of `Fuzz/Corpus/<target>`, sorted by name.
    public static func corpus(_ target: String) throws -> [Input] {
        try files(in: "Corpus/\(target)")
    }

    /// Every file of `Fuzz/Regressions/<target>` but its README, sorted by name.
    public static func regressions(_ target: String) throws -> [Input] {
        try files(in: "Regressions/\(target)")
    }

    static func files(in subdirectory: String) throws -> [Input] {
        let folder = directory.appendingPathComponent(subdirectory)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        return try names.filter { !$0.hasPrefix(".") && !$0.hasPrefix("README") }.sorted().map { name in
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            return Input(path: "Fuzz/\(subdirectory)/\(name)", bytes: [UInt8](data))
        }
    }
}
