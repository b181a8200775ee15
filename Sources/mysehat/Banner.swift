import Foundation
import Gateway

/// Startup output in the spirit of the reference's orchestrator: a banner, the internal services,
/// the public gateway, and a success line once everything is ready.
struct Banner {
    let version: String
    let production: Bool

    func header(configDirectory: String, dataDirectory: String) {
        let rule = String(repeating: "=", count: 64)
        emit(rule)
        emit("  MySehat Healthcare Gateway \(version) (\(production ? "production" : "development"))")
        emit("  config: \(configDirectory)")
        emit("  data:   \(dataDirectory)")
        emit(rule)
    }

    func services(_ config: GatewayConfig) {
        emit("[1/2] Internal services")
        for service in config.services {
            let address: String
            switch service.target {
            case .swift: address = "in-process"
            case .lua(let lua): address = "in-process (\(lua.declaration.file))"
            case .upstream(let target, let supervised):
                address = "\(target.scheme)://\(target.host):\(target.port)" + (supervised != nil ? " (supervised: \(supervised!.command.joined(separator: " ")))" : "")
            }
            emit("      \(pad(service.name, 18)) \(pad(service.target.kind, 9)) \(pad(service.prefix, 22)) \(address)")
        }
        if !config.warnings.isEmpty { emit("      (\(config.warnings.count) configuration warning(s) logged above)") }
    }

    func ready(host: String, port: Int, elapsed: Duration) {
        emit("[2/2] Public gateway on http://\(host):\(port)  (docs /docs, health /health)")
        let ms = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        emit("✅ MySehat gateway ready on http://\(host):\(port) in \(ms) ms")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
