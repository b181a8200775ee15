import ArgumentParser
import Foundation
import Gateway

/// `mysehat check`: the same validation as a reload; prints the route table and warnings and
/// exits non-zero on any error.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate the config folder and print the route table.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let composition = try await Composition.forInspection(configDirectory: options.config)
        let loader = composition.loader(directory: options.config)
        do {
            let config = try loader.load(generation: 1)
            print(RouteTablePrinter.render(config))
            if config.warnings.isEmpty {
                print("\nOK: \(config.routes.entries.count) routes, no warnings")
            } else {
                print("\nWarnings:")
                for warning in config.warnings { print("  warning: \(warning)") }
                print("\nOK with \(config.warnings.count) warning(s)")
            }
        } catch {
            for issue in error.issues { printError("error: \(issue)") }
            printError("\ncheck failed: \(error.issues.count) error(s)")
            throw ExitCode(1)
        }
    }
}

/// `mysehat routes`: the route table of a config folder, with internal addresses.
struct Routes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the route table.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let composition = try await Composition.forInspection(configDirectory: options.config)
        do {
            print(RouteTablePrinter.render(try composition.loader(directory: options.config).load(generation: 1)))
        } catch {
            for issue in error.issues { printError("error: \(issue)") }
            throw ExitCode(1)
        }
    }
}

/// `mysehat openapi`: the OpenAPI document `/openapi.json` serves.
struct OpenAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the OpenAPI 3.1 document.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let composition = try await Composition.forInspection(configDirectory: options.config)
        do {
            let config = try composition.loader(directory: options.config).load(generation: 1)
            print(OpenAPIExport.json(config, version: Version.current))
        } catch {
            for issue in error.issues { printError("error: \(issue)") }
            throw ExitCode(1)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
