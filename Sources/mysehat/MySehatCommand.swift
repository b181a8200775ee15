import ArgumentParser

@main
struct MySehatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mysehat",
        abstract: "MySehat healthcare gateway: one binary, one port, Lua-described topology.",
        version: Version.current,
        subcommands: [Serve.self, Check.self, Routes.self, OpenAPI.self, AuditCommand.self],
        defaultSubcommand: Serve.self)
}

enum Version {
    static let current = "3.0.0"
}

/// Options every subcommand that reads the config folder shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Folder holding routes/, policies/ and services/.")
    var config: String = "."
}
