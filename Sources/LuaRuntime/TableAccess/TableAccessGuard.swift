import Store
import Synchronization

/// The table rules of the Lua services of one loaded program, applied to SQL before it runs.
///
/// Decisions are cached per (service, SQL text): Lua SQL is static text with bound parameters, so
/// a hot path inspects its statement once and then costs one dictionary lookup under a lock. The
/// guard lives in the loaded state, so a reload with other grants starts with an empty cache.
final class TableAccessGuard: Sendable {
    private enum Decision {
        case allowed
        case refused(String)
    }

    private struct Key: Hashable {
        let service: String
        let sql: String
    }

    /// Enough for every statement of a real program; a program that makes up SQL text on the fly
    /// just starts over when it fills up.
    static let capacity = 4096

    private let inspector: StatementInspector
    private let rules: [String: TableAccessRule]
    private let decisions = Mutex<[Key: Decision]>([:])

    init(inspector: StatementInspector, rules: [TableAccessRule]) {
        self.inspector = inspector
        self.rules = Dictionary(rules.map { ($0.service, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The error to raise instead of running `sql` for `service`, or nil when it may run.
    func refusal(service: String, sql: String) -> String? {
        let key = Key(service: service, sql: sql)
        if let cached = decisions.withLock({ $0[key] }) {
            if case .refused(let message) = cached { return message }
            return nil
        }
        guard let rule = rules[service] else { return "db: only a service's own code may use the database" }
        let decision: Decision
        do {
            try rule.check(try inspector.inspect(sql))
            decision = .allowed
        } catch let refusal as TableAccessRefusal {
            decision = .refused("db: \(refusal)")
        } catch {
            // Not cached: the statement may prepare once the schema changes.
            return "SQL error: \(error)"
        }
        decisions.withLock { cache in
            if cache.count >= Self.capacity { cache.removeAll(keepingCapacity: true) }
            cache[key] = decision
        }
        if case .refused(let message) = decision { return message }
        return nil
    }
}
