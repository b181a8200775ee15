import CLua
import CLuaShim
import Groq
import ServiceKit

extension LuaPrimitives {
    /// `groq.chat{ model, messages = { {role, content}, ... }, temperature, max_tokens, json = true,
    /// timeout }` -> `{ content, usage = {prompt_tokens, completion_tokens, total_tokens}, model }`,
    /// or nil and a message. Without `GROQ_API_KEY` it fails at once with "not configured".
    public mutating func addGroq(_ client: GroqClient) {
        set("groq", .module([
            "configured": .function { stack, _ in
                stack.pushBool(client.isConfigured)
                return .values(1)
            },
            "chat": .function { stack, _ in
                guard stack.type(at: 1) == LUA_TTABLE, case .object(let fields)? = try? LuaJSON.value(at: 1, on: stack) else {
                    return .raise("groq.chat expects a table")
                }
                guard let list = fields["messages"]?.arrayValue, !list.isEmpty else { return .raise("groq.chat needs messages") }
                var messages: [ChatMessage] = []
                for item in list {
                    guard let role = item["role"]?.stringValue.flatMap(ChatMessage.Role.init(rawValue:)), let content = item["content"]?.stringValue else {
                        return .raise("each message needs a role (system, user, assistant) and a content string")
                    }
                    messages.append(ChatMessage(role: role, content: .text(content)))
                }
                let request = ChatRequest(
                    model: fields["model"]?.stringValue, messages: messages, temperature: fields["temperature"]?.doubleValue,
                    maxTokens: fields["max_tokens"]?.intValue, jsonMode: fields["json"]?.boolValue ?? false,
                    timeout: fields["timeout"]?.doubleValue.map { .milliseconds(Int64($0 * 1000)) })
                return .yield {
                    do {
                        let result = try await client.chat(request)
                        return .values([.table([
                            ("content", .string(result.content)),
                            ("model", .string(result.model)),
                            ("usage", .table([
                                ("prompt_tokens", .integer(Int64(result.usage.promptTokens))),
                                ("completion_tokens", .integer(Int64(result.usage.completionTokens))),
                                ("total_tokens", .integer(Int64(result.usage.totalTokens))),
                            ])),
                        ])])
                    } catch {
                        return .values([.nil, .string("\(error)")])
                    }
                }
            },
        ]))
    }
}
