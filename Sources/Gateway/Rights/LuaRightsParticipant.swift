import LuaRuntime
import ServiceKit
import Store

/// A Lua service's `on_export` / `on_erase` hooks as a participant in the user's rights.
public struct LuaRightsParticipant: DataRightsParticipant {
    public let service: String
    public let dataKey: String
    let pool: LuaWorkerPool
    let hasExport: Bool
    let hasErase: Bool

    /// The participants of a configuration generation: every Lua service that declared a hook.
    public static func all(in config: GatewayConfig) -> [LuaRightsParticipant] {
        config.lua.loadReport.services.filter { $0.hasExportHook || $0.hasEraseHook }.map {
            LuaRightsParticipant(
                service: $0.name, dataKey: $0.name.replacingOccurrences(of: "-", with: "_"), pool: config.lua, hasExport: $0.hasExportHook,
                hasErase: $0.hasEraseHook)
        }
    }

    static func request(for userID: String) -> LuaRequest {
        LuaRequest(
            method: "GET", path: "/", params: [:], query: [], headers: [], body: [], user: VerifiedUser(id: userID, role: "patient"),
            requestID: "rights-\(userID)", clientIP: "127.0.0.1", deadlineNanoseconds: LuaClock.deadline(after: .seconds(30)))
    }

    public func exportData(userID: String, from executor: any DatabaseExecutor) async throws -> JSONValue {
        guard hasExport else { return .null }
        let outcome = await pool.next().callRightsHook(service: service, hook: .export, userID: userID, transaction: nil, request: Self.request(for: userID))
        guard case .response(let answer)? = outcome, case .json(let value) = answer.body else {
            throw StoreError("export hook of Lua service '\(service)' failed")
        }
        return value
    }

    public func eraseData(userID: String, in transaction: any StoreTransaction) async throws -> Int {
        guard hasErase else { return 0 }
        let outcome = await pool.next().callRightsHook(
            service: service, hook: .erase, userID: userID, transaction: transaction, request: Self.request(for: userID))
        guard case .response(let answer)? = outcome, case .json(let value) = answer.body else {
            throw StoreError("erase hook of Lua service '\(service)' failed")
        }
        return value.intValue ?? 0
    }
}
