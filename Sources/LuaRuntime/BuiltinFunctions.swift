import Foundation
import CLua
import CLuaShim
import Logging
import ServiceKit

/// The host functions the prelude turns into `json`, `log`, `print` and the service plumbing.
enum BuiltinFunctions {
    static let all: [(String, HostFunction)] = [
        ("json_encode", jsonEncode),
        ("json_decode", jsonDecode),
        ("log", log),
        ("print", print),
        ("current_file", currentFile),
        ("bad_json", badJSON),
        ("module_source", moduleSource),
        ("spawn", spawn),
        ("form", form),
    ]

    /// `spawn(fn)`: `fn(req)` runs in its own coroutine once the current handler has answered
    /// (with its own budget and a 60 s time limit), so slow follow-up work such as a webhook
    /// never delays or fails the answer.
    static func spawn(_ stack: LuaStack, _ context: LuaStateContext) -> HostReturn {
        guard stack.type(at: 1) == LUA_TFUNCTION else { return .raise("spawn expects a function") }
        guard let run = context.running else { return .raise("spawn can only be called while handling a request") }
        lua_pushvalue(stack.L, 1)
        run.spawned.append(mysehat_ref(stack.L))
        return .values(0)
    }

    /// `req:form()`: a url-encoded or multipart body as a table keyed by field name — plain fields
    /// as strings, file parts as `{filename, content_type, body, size}`. A malformed body answers
    /// 400, another content type 415.
    static func form(_ stack: LuaStack, _ context: LuaStateContext) -> HostReturn {
        guard let run = context.running else { return .raise("req:form() can only run while handling a request") }
        let request = run.request
        let contentType = request.headers.first { $0.name == "content-type" }?.value ?? ""
        let essence = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch essence {
        case "application/x-www-form-urlencoded":
            let text = String(decoding: request.body, as: UTF8.self)
            stack.newTable()
            for item in QueryString.parse(text).reversed() { stack.setString(item.name, item.value) }
            return .values(1)
        case "multipart/form-data":
            do {
                let boundary = try MultipartParser.boundary(contentType: contentType)
                let form = try MultipartParser.parse(request.body, boundary: boundary)
                stack.newTable()
                for part in form.parts.reversed() {
                    if let filename = part.filename {
                        stack.newTable(recordCount: 4)
                        stack.setString("filename", filename)
                        if let type = part.contentType { stack.setString("content_type", type) }
                        stack.pushBytes(part.body)
                        stack.setField(-2, "body")
                        stack.pushInteger(Int64(part.body.count))
                        stack.setField(-2, "size")
                    } else {
                        stack.pushBytes(part.body)
                    }
                    stack.setField(-2, part.name)
                }
                return .values(1)
            } catch {
                run.abort = ServiceError(.badRequest, "Invalid multipart body: \(error)")
                return .raise("Invalid multipart body")
            }
        default:
            run.abort = ServiceError.unsupportedMediaType
            return .raise("Unsupported Media Type")
        }
    }

    /// `host.module_source(name)` -> code, path for `require`; nil and a message otherwise.
    /// Module names use dots for folders and resolve only inside services/ (services/lib first).
    static func moduleSource(_ stack: LuaStack, _ context: LuaStateContext) -> HostReturn {
        guard let name = stack.string(at: 1) else { return .raise("require expects a module name") }
        let valid = !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" }
            && !name.contains("..") && !name.hasPrefix(".")
        guard valid else {
            stack.pushNil()
            stack.pushString("module '\(name)' not found (module names are letters, digits, '_', '-' and '.')")
            return .values(2)
        }
        let relative = name.replacingOccurrences(of: ".", with: "/")
        for candidate in ["services/lib/\(relative).lua", "services/\(relative).lua"] {
            if let code = context.modules[candidate] {
                stack.pushString(code)
                stack.pushString(candidate)
                return .values(2)
            }
        }
        stack.pushNil()
        stack.pushString("module '\(name)' not found in services/lib/ or services/")
        return .values(2)
    }

    static func jsonEncode(_ stack: LuaStack, _ context: LuaStateContext) -> HostReturn {
        do {
            let value = try LuaJSON.value(at: 1, on: stack)
            stack.pushBytes(JSON.encode(value))
            return .values(1)
        } catch {
            return .raise("json.encode: \(error)")
        }
    }

    /// `json.decode(text)` -> value, or nil and a message.
    static func jsonDecode(_ stack: LuaStack, _ context: LuaStateContext) -> HostReturn {
        guard let bytes = stack.bytes(at: 1) else { return .raise("json.decode expects a string") }
        do {
            LuaJSON.push(try JSON.decode(bytes), on: stack)
            return .values(1)
        } catch {
            stack.pushNil()
            stack.pushString("\(error.message) at byte \(error.offset)")
            return .values(2)
        }
    }

    /// `host.log(level, message, fields)`.
    static func log(_ stack: LuaStack, _ context: LuaStateContext) -> HostReturn {
        let level = Logger.Level(rawValue: stack.string(at: 1) ?? "info") ?? .info
        let message = stack.describe(at: 2)
        var metadata: Logger.Metadata = [:]
        if stack.type(at: 3) == LUA_TTABLE, case .object(let fields)? = try? LuaJSON.value(at: 3, on: stack) {
            for (key, value) in fields {
                metadata[key] = .string(value.stringValue ?? JSON.encodeString(value))
            }
        }
        if let run = context.running {
            metadata["request_id"] = .string(run.request.requestID)
            metadata["service"] = .string(run.serviceName)
        } else if !context.currentFile.isEmpty {
            metadata["file"] = .string(context.currentFile)
        }
        context.logger.log(level: level, "\(message)", metadata: metadata)
        return .values(0)
    }

    static func print(_ stack: LuaStack, _ context: LuaStateContext) -> HostReturn {
        let parts = (1...max(1, stack.top)).map { stack.describe(at: $0) }
        context.logger.info("\(parts.joined(separator: "\t"))", metadata: ["lua": "print"])
        return .values(0)
    }

    static func currentFile(_ stack: LuaStack, _ context: LuaStateContext) -> HostReturn {
        stack.pushString(context.currentFile)
        return .values(1)
    }

    /// `req:json()` on a body that is not JSON answers 400 for the whole request.
    static func badJSON(_ stack: LuaStack, _ context: LuaStateContext) -> HostReturn {
        context.running?.abort = ServiceError(.badRequest, "Invalid JSON body")
        return .raise("Invalid JSON body")
    }
}
