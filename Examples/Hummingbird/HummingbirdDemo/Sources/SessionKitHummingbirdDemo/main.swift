import Foundation
import Hummingbird

// SessionKit demo on Hummingbird 2. Run from the repository's root:
//   swift run --package-path Examples/Hummingbird/HummingbirdDemo SessionKitHummingbirdDemo
// then open http://127.0.0.1:8080/. Settings: see DemoSettings (flags or SESSIONKIT_* variables).

let settings: DemoSettings
do {
    settings = try DemoSettings(
        arguments: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(2)
}

do {
    let interface = try settings.makeInterface()
    let router = try makeRouter(settings: settings, interface: interface)
    let app = Application(
        router: router,
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "SessionKitDemo"))
    print("SessionKit Hummingbird demo: http://\(settings.host):\(settings.port)/ (store: \(settings.storeDescription))")
    try await app.runService()
} catch {
    FileHandle.standardError.write(Data("SessionKitHummingbirdDemo: \(error)\n".utf8))
    exit(1)
}
