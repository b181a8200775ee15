import ConsentService
import Foundation
import ServiceKit
import Store
import Testing

@Suite("Consent record store")
struct ConsentRecordsTests {
    let day: Int64 = 86_400_000
    let now: Int64 = 1_772_360_130_000

    func withRecords(_ body: (ConsentRecords, SQLiteStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("consent-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(path: directory + "/mysehat.sqlite")
        try await ConsentRecords.migrate(store)
        try await ConsentRecords.migrate(store)  // idempotent
        try await body(ConsentRecords(store), store)
    }

    @Test func consentObjectHasEveryFieldInOrder() async throws {
        try await withRecords { records, _ in
            let record = try await records.grant(
                ConsentKey(userID: "1", dataCategory: "health_records", purpose: "sharing", grantedTo: "hospital"),
                ConsentGrant(consentText: "I allow hospitals I visit to read my health records.", expiresInDays: 30), now: now)
            #expect(Array(record.json.keys) == [
                "id", "user_id", "data_category", "purpose", "granted_to", "granted_to_id", "status", "granted", "is_active",
                "consent_text", "consent_version", "consent_method", "revocable", "created_at", "granted_at", "expires_at",
                "revoked_at", "emergency_id",
            ])
            #expect(record.json == [
                "id": 1, "user_id": "1", "data_category": "health_records", "purpose": "sharing", "granted_to": "hospital",
                "granted_to_id": nil, "status": "active", "granted": true, "is_active": true,
                "consent_text": "I allow hospitals I visit to read my health records.", "consent_version": "1.0",
                "consent_method": "explicit", "revocable": true, "created_at": "2026-03-01T10:15:30.000Z",
                "granted_at": "2026-03-01T10:15:30.000Z", "expires_at": "2026-03-31T10:15:30.000Z", "revoked_at": nil,
                "emergency_id": nil,
            ])
        }
    }

    @Test func oneRecordPerKeyAndRegrantReusesIt() async throws {
        try await withRecords { records, _ in
            let key = ConsentKey(userID: "7", dataCategory: "medications", purpose: "medicine_reminders")
            let first = try await records.grant(key, ConsentGrant(consentText: "first"), now: now)
            let revoked = try await records.update(id: first.id, userID: "7", ConsentChange(granted: false), now: now + 1000)
            #expect(revoked?.status == .revoked)
            #expect(revoked?.revokedAt == Instant.format(milliseconds: now + 1000))
            // Revoking again keeps the first revocation time.
            let again = try await records.update(id: first.id, userID: "7", ConsentChange(granted: false), now: now + 5000)
            #expect(again?.revokedAt == Instant.format(milliseconds: now + 1000))

            let regranted = try await records.grant(key, ConsentGrant(), now: now + 10_000)
            #expect(regranted.id == first.id)
            #expect(regranted.status == .active && regranted.revokedAt == nil)
            #expect(regranted.grantedAt == Instant.format(milliseconds: now + 10_000))
            #expect(regranted.createdAt == first.createdAt)
            #expect(regranted.consentText == "first")  // kept when no new text is given
            #expect(try await records.records(userID: "7", now: now).count == 1)
        }
    }

    @Test func expiryIsEvaluatedOnReadAndStored() async throws {
        try await withRecords { records, store in
            let key = ConsentKey(userID: "3", dataCategory: "mental_health", purpose: "mental_health_processing")
            let record = try await records.grant(key, ConsentGrant(expiresInDays: 1), now: now)
            #expect(try await records.holds(userID: "3", purpose: "mental_health_processing", now: now + day - 1))
            #expect(try await store.one("SELECT status FROM consents WHERE id = ?", .integer(record.id))?.string("status") == "active")
            // At exactly expires_at it is expired, reported so and stored so.
            #expect(try await !records.holds(userID: "3", purpose: "mental_health_processing", now: now + day))
            #expect(try await store.one("SELECT status FROM consents WHERE id = ?", .integer(record.id))?.string("status") == "expired")
            #expect(try await records.record(id: record.id, userID: "3", now: now)?.status == .expired)
            let regranted = try await records.grant(key, ConsentGrant(), now: now + 2 * day)
            #expect(regranted.status == .active && regranted.expiresAt == nil)
            #expect(try await records.holds(userID: "3", purpose: "mental_health_processing", now: now + 400 * day))
        }
    }

    @Test func productPurposeEquivalences() async throws {
        try await withRecords { records, _ in
            try await records.grant(ConsentKey(userID: "1", dataCategory: "health_records", purpose: "sharing", grantedTo: "self"), ConsentGrant(), now: now)
            #expect(try await !records.holds(userID: "1", purpose: "hospital_data_sharing", now: now))
            try await records.grant(
                ConsentKey(userID: "1", dataCategory: "health_records", purpose: "sharing", grantedTo: "healthcare_worker"), ConsentGrant(), now: now)
            #expect(try await records.holds(userID: "1", purpose: "hospital_data_sharing", now: now))
            #expect(try await !records.holds(userID: "2", purpose: "hospital_data_sharing", now: now))

            try await records.grant(ConsentKey(userID: "1", dataCategory: "documents", purpose: "storage"), ConsentGrant(), now: now)
            #expect(try await records.holds(userID: "1", purpose: "health_record_storage", now: now))
            #expect(try await records.holds(userID: "1", purpose: "storage", now: now))
            #expect(try await !records.holds(userID: "1", purpose: "ai_symptom_checker", now: now))

            // A pending record never counts.
            try await records.insert(NewConsent(
                key: ConsentKey(userID: "1", dataCategory: "ai_symptoms", purpose: "ai_symptom_checker"), status: .pending,
                consentText: nil, method: .signup, revocable: false), now: now)
            #expect(try await !records.holds(userID: "1", purpose: "ai_symptom_checker", now: now))
            #expect(try await records.hasConsent(userID: "1", purpose: "hospital_data_sharing"))
        }
    }

    @Test func emergencyOverridesDifferByEvent() async throws {
        try await withRecords { records, _ in
            func override(_ event: String) -> ConsentKey {
                ConsentKey(userID: "5", dataCategory: "emergency", purpose: "emergency", grantedTo: "emergency_responder", emergencyID: event)
            }
            let grant = ConsentGrant(
                consentText: "Emergency override", grantedToID: "AMB-1", expiresInDays: 1, method: .emergency, revocable: false)
            let one = try await records.grant(override("1"), grant, now: now)
            let ten = try await records.grant(override("10"), grant, now: now)
            #expect(one.id != ten.id)
            #expect(one.json["emergency_id"] == "1" && one.json["granted_to_id"] == "AMB-1" && one.json["revocable"] == false)
            #expect(try await records.holds(userID: "5", purpose: "emergency_sharing", now: now))
            try await records.revoke(one, now: now)
            #expect(try await records.record(key: override("10"), now: now)?.status == .active)
            #expect(try await records.holds(userID: "5", purpose: "emergency_sharing", now: now))
            try await records.revoke(ten, now: now)
            #expect(try await !records.holds(userID: "5", purpose: "emergency_sharing", now: now))
        }
    }

    @Test func nonRevocableRecordsRefuseRevocation() async throws {
        try await withRecords { records, _ in
            let mandatory = try await records.insert(NewConsent(
                key: ConsentKey(userID: "1", dataCategory: "emergency", purpose: "emergency_sharing"), status: .active,
                consentText: nil, method: .signup, revocable: false), now: now)
            await #expect(throws: ConsentRefusal(message: "Cannot revoke mandatory consent: emergency_sharing")) {
                try await records.update(id: mandatory.id, userID: "1", ConsentChange(granted: false), now: now)
            }
            let override = try await records.grant(
                ConsentKey(userID: "1", dataCategory: "emergency", purpose: "emergency", grantedTo: "ambulance", emergencyID: "4"),
                ConsentGrant(method: .emergency, revocable: false), now: now)
            await #expect(throws: ConsentRefusal(message: "This consent cannot be revoked")) {
                try await records.update(id: override.id, userID: "1", ConsentChange(granted: false), now: now)
            }
            // Someone else's id is not found.
            #expect(try await records.update(id: mandatory.id, userID: "2", ConsentChange(granted: true), now: now) == nil)
            #expect(try await records.record(id: mandatory.id, userID: "1", now: now)?.status == .active)
        }
    }

    @Test func vocabularies() {
        #expect(ConsentVocabulary.purposes.count == 13)
        #expect(ConsentVocabulary.canonicalPurpose("hospital_sharing") == "hospital_data_sharing")
        #expect(ConsentVocabulary.productPurpose(dataCategory: "diagnostics", purpose: "ai_processing", grantedTo: "self") == "ai_symptom_checker")
        #expect(ConsentVocabulary.productPurpose(dataCategory: "health_records", purpose: "sharing", grantedTo: "ambulance") == nil)
        #expect(ConsentVocabulary.productPurpose(dataCategory: "medications", purpose: "analytics", grantedTo: "self") == nil)
    }
}
