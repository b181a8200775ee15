import HummingbirdCore
import ServiceKit
import Store

/// The user directory and role management, role `admin` (01-auth §2.14–§2.17). The gateway's
/// policy enforces the role; the handlers check it again.
struct AdminEndpoints {
    let context: AuthContext

    func register(in routes: inout ServiceRoutes) {
        let tags = ["auth", "admin"]
        routes.get("/users", OperationInfo(summary: "List active accounts", tags: tags)) { try await users($0) }
        routes.get("/users/{user_id}", OperationInfo(summary: "One account by id", tags: tags)) { try await user($0) }
        routes.get("/users/phone/{phone_number}", OperationInfo(summary: "One account by phone number", tags: tags)) {
            try await userByPhone($0)
        }
        routes.put("/users/{user_id}/role", OperationInfo(summary: "Change an account's role", tags: tags)) { try await setRole($0) }
    }

    static let userNotFound = ServiceError(.notFound, "User not found")

    func users(_ req: ServiceRequest) async throws -> Response {
        let admin = try context.requireAdmin(req)
        var query = FieldReader(JSONObject(req.queryItems.reversed().map { ($0.name, .string($0.value)) }), at: ["query"])
        let skip = query.optional("skip", .integer(ge: 0)).value ?? 0
        let limit = query.optional("limit", .integer(ge: 1, le: 200)).value ?? 50
        try query.validate()
        let accounts = try await AccountStore(context.store).accounts(skip: skip, limit: limit)
        try await context.store.transaction { db in
            try await context.audit.record(accounts.map { .adminRead(userID: $0.userID, by: admin.id) }, for: req, in: db)
        }
        return .json(.array(try await AccountStore(context.store).responses(for: accounts)))
    }

    func user(_ req: ServiceRequest) async throws -> Response {
        let admin = try context.requireAdmin(req)
        let (path, id) = userIDField(req)
        try path.validate()
        guard let id, let account = try await AccountStore(context.store).account(id: Int64(id)) else { throw Self.userNotFound }
        return try await respond(with: account, readBy: admin, req)
    }

    func userByPhone(_ req: ServiceRequest) async throws -> Response {
        let admin = try context.requireAdmin(req)
        guard let phone = req.params["phone_number"], let account = try await AccountStore(context.store).account(phoneNumber: phone) else {
            throw Self.userNotFound
        }
        return try await respond(with: account, readBy: admin, req)
    }

    func respond(with account: Account, readBy admin: VerifiedUser, _ req: ServiceRequest) async throws -> Response {
        try await context.audit.record(.adminRead(userID: account.userID, by: admin.id), for: req)
        return .json(try await AccountStore(context.store).response(for: account))
    }

    /// The `{user_id}` path parameter as an integer (422 `int_parsing` otherwise).
    func userIDField(_ req: ServiceRequest) -> (reader: FieldReader, id: Int?) {
        var path = FieldReader(["user_id": .string(req.params["user_id"] ?? "")], at: ["path"])
        let id = path.required("user_id", .integer())
        return (path, id)
    }

    /// Stores the role and revokes every token of the account, so none carries a stale role.
    /// The last active admin cannot be demoted.
    func setRole(_ req: ServiceRequest) async throws -> Response {
        let admin = try context.requireAdmin(req)
        let (path, id) = userIDField(req)
        var body = FieldReader(try await req.jsonObject())
        let role = body.required("role", .oneOf(AuthConfiguration.roles))
        try FieldReader.validate(path, body)
        guard let id, let role else { throw ServiceError.internalError }

        let account = try await context.store.transaction { db in
            let accounts = AccountStore(db)
            guard var account = try await accounts.account(id: Int64(id)) else { throw Self.userNotFound }
            if account.role == "admin", role != "admin", try await accounts.activeAdminCount() <= 1 {
                throw ServiceError(.badRequest, "Cannot remove the last admin")
            }
            try await accounts.setRole(id: account.id, role: role)
            try await SessionStore(db).revokeAll(userID: account.id, forgetting: context.verifiedTokens)
            try await context.audit.record(.roleChanged(userID: account.userID, by: admin.id), for: req, in: db)
            account.role = role
            return account
        }
        return .json(try await AccountStore(context.store).response(for: account))
    }
}
