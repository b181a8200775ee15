import ArgumentParser
import Foundation
import Gateway

/// `mysehat check`: the same validation as a reload; prints the route table and warnings and
/// exits non-zero on any error.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate the config folder and print the route table.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try await options.loadConfig(summarizingFailure: true)
        print(RouteTablePrinter.render(config))
        if config.warnings.isEmpty {
            print("\nOK: \(config.routes.entries.count) routes, no warnings")
        } else {
            print("\nWarnings:")
            for warning in config.warnings { print("  warning: \(warning)") }
            print("\nOK with \(config.warnings.count) warning(s)")
        }
    }
}

/// `mysehat routes`: the route table of a config folder, with internal addresses.
struct Routes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the route table.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        print(RouteTablePrinter.render(try await options.loadConfig()))
    }
}

/// `mysehat openapi`: the OpenAPI document `/openapi.json` serves.
struct OpenAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the OpenAPI 3.1 document.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        print(OpenAPIExport.json(try await options.loadConfig(), version: Version.current))
    }
}

extension ConfigOptions {
    /// The config folder loaded as a reload would load it; on errors they are printed to
    /// standard error and the command exits with status 1.
    func loadConfig(summarizingFailure: Bool = false) async throws -> GatewayConfig {
        let composition = try await Composition.forInspection(configDirectory: config)
        do {
            return try composition.loader(directory: config).load(generation: 1)
        } catch {
            for issue in error.issues { printError("error: \(issue)") }
            if summarizingFailure { printError("\ncheck failed: \(error.issues.count) error(s)") }
            throw ExitCode(1)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
