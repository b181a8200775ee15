import Foundation
import ServiceKit
import Store

/// The answer to a triage request: the session and what the rules decided.
struct TriageResult: Sendable {
    var sessionID: String
    /// The session's owner; nil for an anonymous session.
    var ownerID: String?
    var step: TriageStep
}

/// Session details sent with a text (`age`, `duration`, `severity`).
struct TriageDetails: Sendable, Equatable {
    var age: Int?
    var duration: String?
    var severity: String?
}

/// A session as `GET .../session/{id}` shows it.
struct TriageSessionView: Sendable {
    var session: TriageSessionRecord
    var messages: [TriageMessageRecord]
    var observations: [TriageObservationRecord]
}

/// Runs each triage step in one transaction: load the session (checking who may see it), store the
/// user's input, run the rules, store what they decided. Errors are `ServiceError`s with the
/// spec's texts.
struct TriageSessions: Sendable {
    let store: any Store
    var repository = TriageSessionRepository()
    var makeID: @Sendable () -> String = { UUID().uuidString.lowercased() }

    static let notFound = ServiceError(.notFound, "Session not found")

    func migrate() async throws {
        try await store.migrate(service: "diagnostics", TriageSessionRepository.migrations)
        _ = try await store.transaction { db in try await repository.purgeExpiredAnonymous(on: db) }
    }

    /// `POST /triage/text`: a new session owned by `owner` (nil = anonymous).
    func startWithText(_ symptoms: String, details: TriageDetails, owner: String?) async throws -> TriageResult {
        let id = makeID()
        return try await store.transaction { db in
            try await repository.purgeExpiredAnonymous(on: db)
            try await repository.createSession(
                id: id, ownerID: owner, age: details.age, duration: details.duration, severity: details.severity, on: db)
            try await repository.addMessage(sessionID: id, sender: "user", content: symptoms, on: db)
            let session = try await requireVisible(id, accessor: owner, on: db)
            return try await apply(TriageEngine.decide(repository.state(of: session, on: db)), to: session, on: db)
        }
    }

    /// `POST /triage/session/{id}/answer`.
    func answer(_ answer: String, sessionID: String, accessor: String?) async throws -> TriageResult {
        try await store.transaction { db in
            let session = try await requireVisible(sessionID, accessor: accessor, on: db)
            try await repository.addMessage(sessionID: sessionID, sender: "user", content: answer, on: db)
            return try await apply(TriageEngine.answer(repository.state(of: session, on: db), answer: answer), to: session, on: db)
        }
    }

    /// `POST /triage/session/{id}/text`.
    func addText(_ symptoms: String, details: TriageDetails, sessionID: String, accessor: String?) async throws -> TriageResult {
        try await store.transaction { db in
            _ = try await requireVisible(sessionID, accessor: accessor, on: db)
            try await repository.updateDetails(
                id: sessionID, age: details.age, duration: details.duration, severity: details.severity, on: db)
            try await repository.addMessage(sessionID: sessionID, sender: "user", content: symptoms, on: db)
            let session = try await requireVisible(sessionID, accessor: accessor, on: db)
            return try await apply(TriageEngine.addedText(repository.state(of: session, on: db)), to: session, on: db)
        }
    }

    /// Fails with 404 unless the session exists and `accessor` may use it. The image endpoint calls
    /// this before the (slow, paid) vision call so that nothing is spent on a bad id.
    func checkAccess(sessionID: String, accessor: String?) async throws {
        _ = try await requireVisible(sessionID, accessor: accessor, on: store)
    }

    /// `POST /triage/image` after the vision call: store the observation in the given session (or
    /// a new one owned by `accessor`) and run the image step.
    func addObservation(_ observation: VisionObservation, sessionID: String?, accessor: String?) async throws -> TriageResult {
        let newID = sessionID == nil ? makeID() : nil
        return try await store.transaction { db in
            let id: String
            if let sessionID {
                // Checked again: the session may have been deleted during the vision call.
                _ = try await requireVisible(sessionID, accessor: accessor, on: db)
                id = sessionID
            } else {
                id = newID!
                try await repository.purgeExpiredAnonymous(on: db)
                try await repository.createSession(id: id, ownerID: accessor, age: nil, duration: nil, severity: nil, on: db)
            }
            try await repository.addObservation(sessionID: id, observation: observation, on: db)
            let session = try await requireVisible(id, accessor: accessor, on: db)
            return try await apply(TriageEngine.image(repository.state(of: session, on: db)), to: session, on: db)
        }
    }

    func view(sessionID: String, accessor: String?) async throws -> TriageSessionView {
        try await store.transaction { db in
            let session = try await requireVisible(sessionID, accessor: accessor, on: db)
            return TriageSessionView(
                session: session,
                messages: try await repository.messages(sessionID: sessionID, on: db),
                observations: try await repository.observations(sessionID: sessionID, on: db))
        }
    }

    /// Deletes the session; returns its owner (nil for an anonymous session).
    func delete(sessionID: String, accessor: String?) async throws -> String? {
        try await store.transaction { db in
            let session = try await requireVisible(sessionID, accessor: accessor, on: db)
            try await repository.deleteSession(id: sessionID, on: db)
            return session.ownerID
        }
    }

    // MARK: The user's data (export and erasure, 03-diagnostics §9)

    /// Every session the user owns, oldest first, with messages and observations.
    func ownedSessions(ownerID: String) async throws -> [TriageSessionView] {
        try await store.transaction { db in try await ownedSessions(ownerID: ownerID, on: db) }
    }

    /// The same, on the caller's executor (a data export reads inside its own access).
    func ownedSessions(ownerID: String, on db: any DatabaseExecutor) async throws -> [TriageSessionView] {
        var views: [TriageSessionView] = []
        for id in try await repository.sessionIDs(ownerID: ownerID, on: db) {
            guard let session = try await repository.visibleSession(id: id, accessor: ownerID, on: db) else { continue }
            views.append(TriageSessionView(
                session: session, messages: try await repository.messages(sessionID: id, on: db),
                observations: try await repository.observations(sessionID: id, on: db)))
        }
        return views
    }

    /// Deletes every session the user owns; returns how many.
    @discardableResult
    func eraseOwnedSessions(ownerID: String) async throws -> Int {
        try await store.transaction { db in try await eraseOwnedSessions(ownerID: ownerID, on: db) }
    }

    /// The same, inside the caller's transaction (an account erasure is one transaction).
    func eraseOwnedSessions(ownerID: String, on db: any DatabaseExecutor) async throws -> Int {
        let ids = try await repository.sessionIDs(ownerID: ownerID, on: db)
        for id in ids { try await repository.deleteSession(id: id, on: db) }
        return ids.count
    }

    private func requireVisible(_ id: String, accessor: String?, on db: any DatabaseExecutor) async throws -> TriageSessionRecord {
        guard let session = try await repository.visibleSession(id: id, accessor: accessor, on: db) else { throw Self.notFound }
        return session
    }

    /// Stores what a step decided: a selected question as an `ai` message, the status of this
    /// response, and a final output.
    private func apply(_ step: TriageStep, to session: TriageSessionRecord, on db: any DatabaseExecutor) async throws -> TriageResult {
        let id = session.id
        switch step {
        case .ask(let question, let record):
            if record { try await repository.addMessage(sessionID: id, sender: "ai", content: question.text, on: db) }
            try await repository.recordOutcome(id: id, finalOutput: nil, on: db)
        case .complete(let output):
            try await repository.recordOutcome(id: id, finalOutput: output.json, on: db)
        }
        return TriageResult(sessionID: id, ownerID: session.ownerID, step: step)
    }
}
