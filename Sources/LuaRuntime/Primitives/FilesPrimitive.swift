import CLua
import CLuaShim
import Foundation
import ServiceKit

extension LuaPrimitives {
    /// `files.read(path)` -> the file's bytes as a string, or nil and a message.
    ///
    /// Scripts read data files that ship with the configuration (a hospital list, a lookup table):
    /// a relative path is resolved inside `root` (the config folder) and may not leave it, symbolic
    /// links included. A path outside the folder is readable only when ops named it explicitly in
    /// the settings (`readable`, e.g. `SOS_HOSPITALS_FILE`). Reads are synchronous and capped at
    /// `maxBytes`, so they also work while a file loads (outside any request).
    public mutating func addFiles(root: String, readable: [String] = [], maxBytes: Int = 16 << 20) {
        let access = FileAccess(root: root, readable: readable, maxBytes: maxBytes)
        set("files", .module([
            "read": .function { stack, _ in
                guard let path = stack.string(at: 1), !path.isEmpty else { return .raise("files.read expects a path") }
                switch access.read(path) {
                case .success(let bytes):
                    stack.pushBytes(bytes)
                    return .values(1)
                case .failure(let problem):
                    stack.pushNil()
                    stack.pushString(problem.message)
                    return .values(2)
                }
            },
        ]))
    }
}

/// The rules of `files.read`.
struct FileAccess: Sendable {
    struct Problem: Error {
        let message: String
    }

    let root: String
    let readable: Set<String>
    let maxBytes: Int

    init(root: String, readable: [String], maxBytes: Int) {
        self.root = Self.resolve(root)
        self.readable = Set(readable.filter { !$0.isEmpty }.map(Self.resolve))
        self.maxBytes = maxBytes
    }

    /// The absolute path with `.`/`..` removed and symbolic links followed.
    static func resolve(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    func allows(_ path: String) -> String? {
        let absolute = path.hasPrefix("/") ? path : root + "/" + path
        let resolved = Self.resolve(absolute)
        if resolved.hasPrefix(root + "/") || readable.contains(resolved) { return resolved }
        return nil
    }

    func read(_ path: String) -> Result<[UInt8], Problem> {
        guard let resolved = allows(path) else {
            return .failure(Problem(message: "files.read: '\(path)' is outside the config folder and not configured as readable"))
        }
        guard let handle = FileHandle(forReadingAtPath: resolved) else {
            return .failure(Problem(message: "files.read: cannot open '\(path)'"))
        }
        defer { try? handle.close() }
        do {
            let data = try handle.read(upToCount: maxBytes + 1) ?? Data()
            guard data.count <= maxBytes else { return .failure(Problem(message: "files.read: '\(path)' is larger than \(maxBytes) bytes")) }
            return .success(Array(data))
        } catch {
            return .failure(Problem(message: "files.read: cannot read '\(path)': \(error.localizedDescription)"))
        }
    }
}
