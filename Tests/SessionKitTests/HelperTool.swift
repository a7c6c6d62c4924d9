import Foundation

/// The executables of Tests/ (`SessionKitFilesystemWriter`, `SessionKitForkProbe`) that
/// SwiftPM builds next to the test bundle.
enum HelperTool {
    struct NotFound: Error, CustomStringConvertible {
        let name: String
        let override: String
        let searched: [String]
        var description: String {
            "\(name) was not found (looked in \(searched.joined(separator: ", "))); build it with swift build --build-tests, or set \(override) to its path"
        }
    }

    /// The path of the executable `name`: `$override` when set, else the first found next
    /// to the test binary or in the package's .build.
    static func path(of name: String, override: String) throws -> String {
        var directories: [String] = []
        if let explicit = ProcessInfo.processInfo.environment[override] { return explicit }
        // The test binary (Linux: the .xctest executable) sits in the build products directory.
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append((executable as NSString).deletingLastPathComponent)
        }
        directories.append((CommandLine.arguments[0] as NSString).deletingLastPathComponent)
        var bundle = Bundle.main.bundleURL
        for _ in 0..<4 {
            directories.append(bundle.path)
            bundle.deleteLastPathComponent()
        }
        // From the source tree: <package>/.build/debug.
        var source = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { source.deleteLastPathComponent() }
        directories.append(source.appendingPathComponent(".build/debug").path)
        directories.append(source.appendingPathComponent(".build/release").path)
        for directory in directories {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw NotFound(name: name, override: override, searched: directories)
    }
}
