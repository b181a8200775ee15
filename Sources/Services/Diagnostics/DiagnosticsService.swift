import HummingbirdCore
import ServiceKit
import Store

/// The symptom-triage service (03-diagnostics). Paths are relative to the `/diagnostics` prefix.
///
/// Access is *optional user*: the gateway verifies a token when one is sent and enforces the
/// `ai_symptom_checker` consent; this service reads identity only from `req.user` and decides
/// session ownership with it.
public struct DiagnosticsService: Service {
    public let name = "diagnostics"
    public let routes: ServiceRoutes
    private let store: any Store
    let sessions: TriageSessions

    /// - Parameters:
    ///   - imageDescriber: the vision provider; nil (or one that is not configured) makes the image
    ///     endpoint answer 503 while everything else works.
    ///   - audit: where rows for owned sessions go (03-diagnostics §9).
    public init(store: any Store, imageDescriber: (any ImageDescriber)?, audit: (any AuditSink)?) {
        self.init(store: store, imageDescriber: imageDescriber, audit: audit, now: { Instant.nowMilliseconds() })
    }

    /// `now` (milliseconds since the epoch) is injectable so tests can age anonymous sessions.
    init(store: any Store, imageDescriber: (any ImageDescriber)?, audit: (any AuditSink)?, now: @escaping @Sendable () -> Int64) {
        self.store = store
        let sessions = TriageSessions(store: store, repository: TriageSessionRepository(now: now))
        self.sessions = sessions
        self.routes = DiagnosticsRoutes(sessions: sessions, describer: imageDescriber, audit: TriageAudit(sink: audit)).routes
    }

    public func start() async throws {
        try await sessions.migrate()
    }

    public func health() async -> ServiceHealth {
        await store.ping() ? .healthy : .unavailable
    }

    /// The user's triage sessions as the data export lists them (`data.diagnostics.triage_sessions`).
    public func exportUserData(userID: String) async throws -> JSONValue {
        .array(try await sessions.ownedSessions(ownerID: userID).map { .object(TriageJSON.export($0)) })
    }

    /// Deletes all of the user's triage sessions with their messages and observations.
    @discardableResult
    public func eraseUserData(userID: String) async throws -> Int {
        try await sessions.eraseOwnedSessions(ownerID: userID)
    }
}

/// The HTTP layer: validates input, applies identity claims, maps results to the spec's JSON.
struct DiagnosticsRoutes: Sendable {
    let sessions: TriageSessions
    let describer: (any ImageDescriber)?
    let audit: TriageAudit

    static let imageUnavailable = ServiceError(.serviceUnavailable, "image analysis unavailable")
    static let imageFailed = ServiceError(.badGateway, "Image analysis failed")
    static let tags = ["diagnostics"]

    var routes: ServiceRoutes {
        var routes = ServiceRoutes()
        routes.get("/", OperationInfo(summary: "Diagnostics service root", tags: Self.tags)) { _ in .json(TriageJSON.root) }
        routes.get("/health", OperationInfo(summary: "Diagnostics health", tags: Self.tags)) { _ in .json(TriageJSON.health) }
        routes.get("/api/v1/triage/disclaimer", OperationInfo(summary: "Triage disclaimer and data use", tags: Self.tags)) { _ in
            .json(TriageJSON.disclaimerPage)
        }
        routes.post("/api/v1/triage/text", OperationInfo(summary: "Start a triage from typed symptoms", tags: Self.tags)) { req in
            try await startText(req)
        }
        routes.post("/api/v1/triage/image", OperationInfo(summary: "Add a photo to a triage (vision model)", tags: Self.tags)) { req in
            try await addImage(req)
        }
        routes.post("/api/v1/triage/session/{session_id}/answer", OperationInfo(summary: "Answer the triage's question", tags: Self.tags)) { req in
            try await answer(req)
        }
        routes.post("/api/v1/triage/session/{session_id}/text", OperationInfo(summary: "Add symptoms to a triage", tags: Self.tags)) { req in
            try await addText(req)
        }
        routes.get("/api/v1/triage/session/{session_id}", OperationInfo(summary: "Read a triage session", tags: Self.tags)) { req in
            try IdentityClaim.check(req.query("user_id"), caller: req.user)
            let view = try await sessions.view(sessionID: sessionID(req), accessor: req.user?.id)
            try await audit.record(.read, req, sessionID: view.session.id, owner: view.session.ownerID)
            return .json(TriageJSON.session(view))
        }
        routes.delete("/api/v1/triage/session/{session_id}", OperationInfo(summary: "Delete a triage session", tags: Self.tags)) { req in
            try IdentityClaim.check(req.query("user_id"), caller: req.user)
            let id = sessionID(req)
            let owner = try await sessions.delete(sessionID: id, accessor: req.user?.id)
            try await audit.record(.delete, req, sessionID: id, owner: owner)
            return .json(TriageJSON.deleted(id))
        }
        return routes
    }

    private func sessionID(_ req: ServiceRequest) -> String { req.params["session_id"] ?? "" }

    private func startText(_ req: ServiceRequest) async throws -> Response {
        let input = try await TextInput.read(req)
        let result = try await sessions.startWithText(input.symptoms, details: input.details, owner: req.user?.id)
        return try await written(result, req)
    }

    private func addText(_ req: ServiceRequest) async throws -> Response {
        let input = try await TextInput.read(req)
        let result = try await sessions.addText(input.symptoms, details: input.details, sessionID: sessionID(req), accessor: req.user?.id)
        return try await written(result, req)
    }

    private func answer(_ req: ServiceRequest) async throws -> Response {
        var fields = try RequestFields(body: try await req.jsonBody())
        let answer = fields.requiredString("answer", length: 1...2000)
        try fields.finish()
        let result = try await sessions.answer(answer!, sessionID: sessionID(req), accessor: req.user?.id)
        return try await written(result, req)
    }

    /// 03-diagnostics §3.4: the numbered steps are answered in order.
    private func addImage(_ req: ServiceRequest) async throws -> Response {
        guard let describer, describer.isConfigured else { throw Self.imageUnavailable }  // step 1
        let form = try await req.multipartBody()
        try IdentityClaim.check(form.field("user_id"), caller: req.user)
        guard let file = form.part("file") else {
            throw ServiceError.validation([ValidationIssue(type: "missing", loc: ["body", "file"], msg: "Field required")])
        }
        let image = try await ImageUpload.prepare(file)  // steps 2-4, then §8.1
        let sessionID = form.field("session_id").flatMap { $0.isEmpty ? nil : $0 }
        if let sessionID { try await sessions.checkAccess(sessionID: sessionID, accessor: req.user?.id) }  // step 5

        let observation: VisionObservation
        do {
            observation = try await describer.describe(image)  // step 6
        } catch .notConfigured, .unavailable {
            req.logger.warning("image analysis unavailable", metadata: ["request_id": "\(req.requestID)"])
            throw Self.imageUnavailable
        } catch .unusableReply(let reason) {
            req.logger.warning("image analysis failed: \(reason)", metadata: ["request_id": "\(req.requestID)"])
            throw Self.imageFailed
        }
        let result = try await sessions.addObservation(observation, sessionID: sessionID, accessor: req.user?.id)  // step 7
        try await audit.record(
            .aiAnalysis, req, sessionID: result.sessionID, owner: result.ownerID,
            // §9's "image byte size": the photo as uploaded, not the smaller JPEG the model got.
            details: ["model": .string(observation.model), "image_bytes": .int(Int64(file.body.count))])
        return .json(TriageJSON.response(result))
    }

    /// The answer to a step that stored user text, audited as a write.
    private func written(_ result: TriageResult, _ req: ServiceRequest) async throws -> Response {
        try await audit.record(.write, req, sessionID: result.sessionID, owner: result.ownerID)
        return .json(TriageJSON.response(result))
    }
}

/// TriageInputText (03-diagnostics §2.1), validated.
struct TextInput {
    var symptoms: String
    var details: TriageDetails

    static func read(_ req: ServiceRequest) async throws -> TextInput {
        var fields = try RequestFields(body: try await req.jsonBody())
        let symptoms = fields.requiredString("symptoms", length: 1...5000)
        let details = TriageDetails(
            age: fields.optionalInt("age", range: 0...130),
            duration: fields.optionalString("duration", maxLength: 100),
            severity: fields.optionalString("severity", maxLength: 50))
        try fields.finish()
        try IdentityClaim.check(fields.claim("user_id"), caller: req.user)
        return TextInput(symptoms: symptoms!, details: details)
    }
}
