// swift-tools-version:6.0
import PackageDescription

// A console walk-through of SessionKit: a simulated browser talks to SessionMiddleware over
// the in-memory store and every response's headers are printed.
let package = Package(
    name: "SessionKitConsoleDemo",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "SessionKit", path: "../..")],
    targets: [
        .executableTarget(
            name: "SessionKitConsoleDemo",
            dependencies: [.product(name: "SessionKit", package: "SessionKit")]
        )
    ],
    swiftLanguageModes: [.v6]
)
