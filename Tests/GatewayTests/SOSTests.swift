import ConsentService
import Foundation
import Gateway
import ServiceKit
import Store
import Testing
import TestSupport

/// The SOS service (06-sos) through HTTP against the real gateway with the shipped config.
@Suite("SOS service", .serialized)
struct SOSTests {
    // MARK: Flow

    @Test func triggerTracksTheAmbulanceAndResolvesOnce() async throws {
        let receiver = try await WebhookReceiver.start()
        let sos = try await SOSHarness.start(config: ["sos_travel_seconds": "2", "sos_sweep_seconds": "30", "sos_webhook_url": receiver.url + "/hook"])
        defer { Task { await sos.stop(); await receiver.stop() } }

        let event = try await sos.trigger(as: "1")
        let id = try #require(event["id"]?.intValue.map(Int64.init))
        #expect(event["status"] == "Acknowledged" && event["user_id"] == "1" && event["emergency_type"] == "Medical")
        let ambulance = try #require(event["assigned_ambulance_id"]?.stringValue)
        #expect(ambulance.range(of: #"^AMB-[1-9][0-9]{2}$"#, options: .regularExpression) != nil)
        #expect(event["data_shared_to"]?.stringValue == ambulance && event["resolved_at"] == .null && event["route_progress"] == 0)
        let route = try #require(event["route_coords"]?.decodedString?.arrayValue)
        #expect(route.count == 31)
        #expect(route.last == [77.209, 28.6139])
        #expect(route.first == [event["ambulance_lon"]!, event["ambulance_lat"]!])
        let start = try #require(route.first?.arrayValue)
        #expect(abs(start[0].doubleValue! - 77.209) <= 0.020001 && abs(start[1].doubleValue! - 28.6139) <= 0.020001)
        let triggered = try #require(event["timestamp"]?.stringValue.flatMap(Instant.parse))
        #expect(event["consent_expires_at"]?.stringValue.flatMap(Instant.parse) == triggered + 86_400_000)

        // The emergency override is a record of the system's one consent store.
        let consentID = try #require(event["emergency_consent_id"]?.intValue)
        let consent = try #require(try await sos.row("SELECT * FROM consents WHERE id = ?", .integer(Int64(consentID))))
        #expect(consent.string("status") == "active" && consent.string("emergency_id") == String(id))
        #expect(consent.string("granted_to_id") == ambulance && consent.string("granted_to") == "emergency_responder")
        #expect(consent.string("consent_method") == "emergency" && consent.bool("revocable") == false)
        #expect(consent.string("consent_text") == "Emergency override for incident \(id)")
        #expect(try await ConsentRecords(sos.store).holds(userID: "1", purpose: "emergency_sharing"))

        let early = try #require(try await sos.get("/sos/\(id)", as: "1").json?.objectValue)
        #expect(early["status"] == "Acknowledged")
        let moving = try await sos.waitForStatus("OnTheWay", event: id)
        let progress = try #require(moving["route_progress"]?.intValue)
        #expect((0...30).contains(progress))
        #expect(route[progress] == [moving["ambulance_lon"]!, moving["ambulance_lat"]!])

        let done = try await sos.waitForStatus("Resolved", event: id)
        #expect(done["route_progress"] == 30 && done["ambulance_lat"] == 28.6139 && done["ambulance_lon"] == 77.209)
        #expect(done["resolved_at"]?.stringValue.flatMap(Instant.parse) == triggered + 5_000)
        // A resolved event never changes again, and the override ended with it, exactly once.
        #expect(try await sos.get("/sos/\(id)", as: "1").json?.objectValue == done)
        #expect(try await sos.row("SELECT status FROM consents WHERE id = ?", .integer(Int64(consentID)))?.string("status") == "revoked")
        #expect(try await !ConsentRecords(sos.store).holds(userID: "1", purpose: "emergency_sharing"))
        let ends = try await sos.auditRows(action: "emergency_end")
        #expect(ends.count == 1 && ends.first?.string("actor_type") == "system" && ends.first?.string("actor_id") == nil)
        #expect(ends.first?.string("emergency_id") == String(id))
        // Responders lose access with the event.
        let refused = try await sos.get("/sos/\(id)/emergency-data", as: "9", role: "responder")
        #expect(refused.status == 403 && refused.detail == "Emergency consent is no longer active")
        #expect(try await sos.get("/sos/active", as: "1").json == [])

        let deliveries = await receiver.waitForDeliveries(2)
        #expect(deliveries.map { $0.header("X-MySehat-Event") } == ["sos.triggered", "sos.resolved"])
        #expect(deliveries.last?.json?["status"] == "Resolved")
        #expect(try await sos.auditRows(action: "write", resourceType: "sos_event").count == 1)
        #expect(try await sos.auditRows(action: "emergency_override", resourceType: "consent").count == 1)
        #expect(try await sos.audit.verify().valid)
    }

    @Test func aConfiguredRouterSuppliesTheRoute() async throws {
        let road: JSONValue = ["routes": [["geometry": ["coordinates": [[77.2201234567, 28.6251], [77.215, 28.62], [77.209, 28.6139]]]]]]
        let router = try await WebhookReceiver.start(body: road)
        let sos = try await SOSHarness.start(config: ["sos_router_url": router.url + "/osrm/"])
        defer { Task { await sos.stop(); await router.stop() } }
        let event = try await sos.trigger(as: "1")
        #expect(event["route_coords"]?.decodedString == [[77.220123, 28.6251], [77.215, 28.62], [77.209, 28.6139]])
        #expect(event["ambulance_lon"] == 77.220123 && event["ambulance_lat"] == 28.6251)
        let call = try #require(router.deliveries.first)
        #expect(call.method == "GET" && call.path.hasPrefix("/osrm/route/v1/driving/"))
        #expect(call.path.hasSuffix(";77.209000,28.613900?overview=full&geometries=geojson"), "\(call.path)")

        // An unusable answer falls back to the straight line.
        let broken = try await WebhookReceiver.start(statuses: [500])
        let fallback = try await SOSHarness.start(config: ["sos_router_url": broken.url])
        defer { Task { await fallback.stop(); await broken.stop() } }
        #expect(try await fallback.trigger(as: "1")["route_coords"]?.decodedString?.arrayValue?.count == 31)
        #expect(broken.deliveries.count == 1)
    }

    @Test func theSweepResolvesEventsNobodyReads() async throws {
        let sos = try await SOSHarness.start(config: ["sos_travel_seconds": "1", "sos_sweep_seconds": "0.2"])
        defer { Task { await sos.stop() } }
        let event = try await sos.trigger(as: "4")
        let id = try #require(event["id"]?.intValue.map(Int64.init))
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if try await sos.row("SELECT status FROM sos_events WHERE id = ?", .integer(id))?.string("status") == "Resolved" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let stored = try #require(try await sos.row("SELECT status, resolved_at FROM sos_events WHERE id = ?", .integer(id)))
        #expect(stored.string("status") == "Resolved" && stored.string("resolved_at") != nil)
        let consent = try await sos.row("SELECT status FROM consents WHERE emergency_id = ?", .text(String(id)))
        #expect(consent?.string("status") == "revoked")
        #expect(try await sos.auditRows(action: "emergency_end").count == 1)
    }

    // MARK: Ownership and roles

    @Test func usersSeeOnlyTheirOwnEventsAndProfile() async throws {
        let sos = try await SOSHarness.start()
        defer { Task { await sos.stop() } }
        let event = try await sos.trigger(as: "1")
        let id = try #require(event["id"]?.intValue)

        for path in ["/sos/\(id)", "/sos/\(id)/emergency-data", "/sos/999999"] {
            let hidden = try await sos.get(path, as: "2")
            #expect(hidden.status == 404 && hidden.detail == "SOS Event not found", "\(path)")
        }
        let mismatch = "user_id does not match the authenticated user"
        for path in ["/sos/user/1", "/sos/emergency-profile/1", "/sos/active?user_id=1"] {
            let refused = try await sos.get(path, as: "2")
            #expect(refused.status == 403 && refused.detail == mismatch, "\(path)")
        }
        let put = try await sos.send(.PUT, "/sos/emergency-profile/1", as: "2", json: ["name": "Not Me"])
        #expect(put.status == 403 && put.detail == mismatch)
        let erase = try await sos.gateway.request(.DELETE, "/sos/user/1/history", headers: SOSHarness.token("2"))
        #expect(erase.status == 403 && erase.detail == mismatch)
        let claimed = try await sos.send(.POST, "/sos", as: "2", json: ["user_id": "1", "latitude": 1, "longitude": 2, "emergency_type": "Fire"])
        #expect(claimed.status == 403 && claimed.detail == mismatch)
        // A matching claim is fine, and so is the guide's alias path.
        let own = try await sos.send(.POST, "/sos/trigger", as: "2", json: ["user_id": "2", "latitude": 1, "longitude": 2, "emergency_type": "Fire"])
        #expect(own.status == 200 && own.json?["user_id"] == "2")
        // Nothing of user 1 changed hands.
        #expect(try await sos.get("/sos/user/1", as: "1").json?.arrayValue?.count == 1)
        #expect(try await sos.get("/sos/\(id)", as: "1").status == 200)
        // Without a token: 401 from the gateway.
        #expect(try await sos.get("/sos/\(id)").status == 401)
        #expect(try await sos.get("/sos/abc", as: "1").json?["detail"]?[0]?["type"] == "int_parsing")
    }

    @Test func respondersReadEmergencyDataOnlyUnderTheOverride() async throws {
        let sos = try await SOSHarness.start()
        defer { Task { await sos.stop() } }
        try await sos.addAccount(id: 1, name: "Mitesh Sai", bloodGroup: "O+", allergies: ["dust", "Pollen"], conditions: ["Asthma"])
        let profile = try await sos.send(.PUT, "/sos/emergency-profile/1", as: "1", json: [
            "allergies": ["Peanuts", "Dust"], "current_medications": "[\"Salbutamol - 100mcg\"]", "insurance_provider": "Example Insurance",
            "emergency_contacts": [["name": "Sai Family", "phone": "9876543210"]],
        ])
        #expect(profile.status == 200, "\(profile.text)")
        let event = try await sos.trigger(as: "1")
        let id = try #require(event["id"]?.intValue)

        // Responders and admins see the event itself without a consent check.
        for role in ["responder", "admin"] {
            #expect(try await sos.get("/sos/\(id)", as: "9", role: role).status == 200)
        }
        // A clinician is not a responder.
        #expect(try await sos.get("/sos/\(id)", as: "9", role: "clinician").status == 404)

        let data = try await sos.get("/sos/\(id)/emergency-data?responder_id=AMB-CREW-7", as: "9", role: "responder")
        #expect(data.status == 200, "\(data.text)")
        let body = try #require(data.json?.objectValue)
        #expect(body["name"] == "Mitesh Sai" && body["blood_group"] == "O+" && body["age"] == 40)
        #expect(body["allergies"] == ["Peanuts", "Dust", "Pollen"])
        #expect(body["chronic_conditions"] == ["Asthma"] && body["current_medications"] == ["Salbutamol - 100mcg"])
        #expect(body["emergency_contacts"] == [["name": "Sai Family", "phone": "9876543210", "relationship": nil]])
        #expect(body["insurance_provider"] == .null && body["organ_donor"] == .null, "insurance and donor status are not shared by default")
        #expect(body["consent_id"] == event["emergency_consent_id"] && body["expires_at"] == event["consent_expires_at"])
        #expect(body["latitude"] == 28.6139 && body["status"] == "Acknowledged" && body["emergency_type"] == "Medical")
        #expect(body["dpdp_notice"] == "This data is shared under emergency consent as per DPDP Act 2023. Access is time-limited and audited.")
        let access = try await sos.auditRows(action: "emergency_access", resourceType: "emergency_data")
        #expect(access.count == 1 && access[0].string("justification") == "AMB-CREW-7" && access[0].string("user_id") == "1")
        #expect(access[0].string("actor_id") == "9" && access[0].string("emergency_id") == String(id) && access[0].string("purpose") == "emergency_sharing")

        // Share flags decide what responders see.
        _ = try await sos.send(.PUT, "/sos/emergency-profile/1", as: "1", json: ["share_allergies": false, "share_name": false])
        let filtered = try #require(try await sos.get("/sos/\(id)/emergency-data", as: "9", role: "responder").json)
        #expect(filtered["allergies"] == [] && filtered["name"] == .null && filtered["blood_group"] == "O+")

        // Another patient cannot see it at all.
        #expect(try await sos.get("/sos/\(id)/emergency-data", as: "3").status == 404)

        // Once the override has expired, responders are refused (and the refusal is audited); the owner is not.
        try await sos.store.execute("UPDATE consents SET expires_at = ? WHERE id = ?", [.text("2020-01-01T00:00:00.000Z"), .integer(Int64(event["emergency_consent_id"]!.intValue!))])
        let expired = try await sos.get("/sos/\(id)/emergency-data?responder_id=AMB-CREW-7", as: "9", role: "responder")
        #expect(expired.status == 403 && expired.detail == "Emergency consent has expired")
        let denied = try await sos.auditRows(action: "access_denied", resourceType: "emergency_data")
        #expect(denied.count == 1 && denied[0].bool("success") == false && denied[0].string("user_id") == "1")
        let own = try await sos.get("/sos/\(id)/emergency-data", as: "1")
        #expect(own.status == 200 && own.json?["name"] == .null)
        #expect(try await sos.auditRows(action: "read", resourceType: "emergency_data").count == 1)
        #expect(try await sos.audit.verify().valid)
    }

    @Test func activeListDependsOnTheRole() async throws {
        let sos = try await SOSHarness.start()
        defer { Task { await sos.stop() } }
        let first = try await sos.trigger(as: "1")
        let second = try await sos.trigger(as: "2", latitude: 19.076, longitude: 72.8777, type: "Fire")
        func ids(_ user: String, _ role: String = "patient") async throws -> [Int] {
            try #require(try await sos.get("/sos/active", as: user, role: role).json?.arrayValue).compactMap { $0["id"]?.intValue }
        }
        #expect(try await ids("1") == [first["id"]!.intValue!])
        #expect(try await ids("3") == [])
        // Newest first.
        #expect(try await ids("9", "responder") == [second["id"]!.intValue!, first["id"]!.intValue!])
        #expect(try await ids("8", "admin") == [second["id"]!.intValue!, first["id"]!.intValue!])
        // One emergency_access row per event another user read.
        #expect(try await sos.auditRows(action: "emergency_access", resourceType: "sos_event").count == 4)
    }

    // MARK: Validation

    @Test func badInputIsAnsweredWithValidationLists() async throws {
        let sos = try await SOSHarness.start()
        defer { Task { await sos.stop() } }
        func problems(_ response: TestResponse) -> [(String, [JSONValue])] {
            (response.json?["detail"]?.arrayValue ?? []).map { ($0["type"]?.stringValue ?? "", $0["loc"]?.arrayValue ?? []) }
        }
        func trigger(_ body: JSONValue) async throws -> TestResponse { try await sos.send(.POST, "/sos", as: "1", json: body) }

        let ranges = try await trigger(["latitude": 90.5, "longitude": -180.01, "emergency_type": ""])
        #expect(ranges.status == 422)
        #expect(problems(ranges).map(\.0) == ["less_than_equal", "greater_than_equal", "string_too_short"])
        #expect(problems(ranges).map(\.1) == [["body", "latitude"], ["body", "longitude"], ["body", "emergency_type"]])
        #expect(ranges.json?["detail"]?[0]?["ctx"] == ["le": 90])

        let missing = try await trigger([:])
        #expect(problems(missing).map(\.0) == ["missing", "missing", "missing"])
        let types = try await trigger(["latitude": "north", "longitude": true, "emergency_type": 5, "user_id": 7])
        #expect(problems(types).map(\.0) == ["string_type", "float_parsing", "float_parsing", "string_type"])
        let long = try await trigger(["latitude": 0, "longitude": 0, "emergency_type": .string(String(repeating: "x", count: 51))])
        #expect(problems(long).map(\.0) == ["string_too_long"])
        // Edges are valid, and so are numbers sent as strings.
        #expect(try await trigger(["latitude": -90, "longitude": "180", "emergency_type": .string(String(repeating: "x", count: 50))]).status == 200)

        let broken = try await sos.gateway.request(.POST, "/sos", headers: SOSHarness.token("1") + [("Content-Type", "application/json")], body: Array(#"{"latitude": 1,"#.utf8))
        #expect(broken.status == 422 && problems(broken).first?.0 == "json_invalid" && problems(broken).first?.1.count == 2)
        #expect(problems(try await trigger([1, 2])).map(\.0) == ["model_attributes_type"])
        let text = try await sos.gateway.request(.POST, "/sos", headers: SOSHarness.token("1") + [("Content-Type", "text/plain")], body: Array("hi".utf8))
        #expect(text.status == 415 && text.detail == "Unsupported Media Type")

        let nearby = try await sos.get("/sos/hospitals/nearby?lon=abc&radius_km=0&limit=51", as: "1")
        #expect(nearby.status == 422)
        #expect(problems(nearby).map(\.0) == ["missing", "float_parsing", "greater_than_equal", "less_than_equal"])
        #expect(problems(nearby).map(\.1) == [["query", "lat"], ["query", "lon"], ["query", "radius_km"], ["query", "limit"]])
        #expect(problems(try await sos.get("/sos/hospitals/nearby?lat=1&lon=1&limit=1.5", as: "1")).map(\.0) == ["int_parsing"])
        let responder = try await sos.get("/sos/1/emergency-data?responder_id=" + String(repeating: "r", count: 101), as: "9", role: "responder")
        #expect(problems(responder).map(\.0) == ["string_too_long"])

        let profile = try await sos.send(.PUT, "/sos/emergency-profile/1", as: "1", json: [
            "name": .string(String(repeating: "n", count: 101)), "age": 131, "blood_group": "AB+ positive!",
            "allergies": .array((0...50).map { .string("a\($0)") }), "chronic_conditions": "not json",
            "current_medications": [""], "emergency_contacts": [["name": "Mum"], "x"], "organ_donor": "maybe", "share_name": "sometimes",
        ])
        #expect(profile.status == 422)
        #expect(problems(profile).map(\.0) == [
            "string_too_long", "string_too_long", "less_than_equal", "too_long", "list_type", "string_too_short", "missing", "dict_type",
            "bool_parsing", "bool_parsing",
        ])
        #expect(problems(profile).map(\.1).contains(["body", "emergency_contacts", 0, "phone"]))
        #expect(problems(profile).map(\.1).contains(["body", "current_medications", 0]))
        // Nothing was stored by the refused update.
        #expect(try await sos.get("/sos/emergency-profile/1", as: "1").json?["name"] == .null)
    }

    // MARK: Emergency profile

    @Test func emergencyProfileDefaultsAndUpdates() async throws {
        let sos = try await SOSHarness.start()
        defer { Task { await sos.stop() } }
        let created = try #require(try await sos.get("/sos/emergency-profile/5", as: "5").json?.objectValue)
        #expect(created["user_id"] == "5" && created["name"] == .null && created["organ_donor"] == .null)
        for list in ["allergies", "chronic_conditions", "current_medications", "emergency_contacts"] { #expect(created[list] == "[]") }
        for flag in ["share_blood_group", "share_allergies", "share_chronic_conditions", "share_current_medications",
                     "share_emergency_contacts", "share_name", "share_age", "auto_notify_emergency_contacts"] { #expect(created[flag] == true, "\(flag)") }
        for flag in ["share_organ_donor_status", "share_insurance_info", "require_manual_confirmation"] { #expect(created[flag] == false, "\(flag)") }
        #expect(created["updated_at"]?.stringValue.flatMap(Instant.parse) != nil && created["id"]?.intValue != nil)
        #expect(try await sos.get("/sos/emergency-profile/5", as: "5").json?["id"] == created["id"], "created once")

        let updated = try #require(try await sos.send(.PUT, "/sos/emergency-profile/5", as: "5", json: [
            "name": "Asha", "age": 34, "blood_group": "B-", "allergies": ["Penicillin"], "chronic_conditions": "[\"Diabetes\"]",
            "emergency_contacts": [["name": "Ravi", "phone": "9000000000", "relationship": "Brother"]], "organ_donor": true,
            "share_organ_donor_status": true, "unknown_field": "ignored",
        ]).json?.objectValue)
        #expect(updated["id"] == created["id"] && updated["name"] == "Asha" && updated["age"] == 34 && updated["organ_donor"] == true)
        #expect(updated["allergies"]?.decodedString == ["Penicillin"] && updated["chronic_conditions"]?.decodedString == ["Diabetes"])
        #expect(updated["emergency_contacts"]?.decodedString == [["name": "Ravi", "phone": "9000000000", "relationship": "Brother"]])
        #expect(updated["share_organ_donor_status"] == true && updated["share_name"] == true)

        // Only fields present are applied; null clears a nullable field.
        let partial = try #require(try await sos.send(.PUT, "/sos/emergency-profile/5", as: "5", json: ["age": nil, "share_age": false]).json?.objectValue)
        #expect(partial["age"] == .null && partial["name"] == "Asha" && partial["share_age"] == false && partial["allergies"] == updated["allergies"])
        #expect(try await sos.auditRows(action: "update", resourceType: "emergency_profile").count == 2)
        #expect(try await sos.auditRows(action: "read", resourceType: "emergency_profile").count == 2)
    }

    @Test func accountProfileFillsTheEmergencyDataSet() async throws {
        let sos = try await SOSHarness.start()
        defer { Task { await sos.stop() } }
        try await sos.addAccount(id: 6, name: "Kiran", bloodGroup: "A+", contact: "Meera", phone: "9111111111")
        let event = try await sos.trigger(as: "6")
        let data = try #require(try await sos.get("/sos/\(event["id"]!.intValue!)/emergency-data", as: "6").json?.objectValue)
        #expect(data["name"] == "Kiran" && data["blood_group"] == "A+")
        #expect(data["emergency_contacts"] == [["name": "Meera", "phone": "9111111111", "relationship": nil]])
        #expect(data["allergies"] == [] && data["current_medications"] == [])
    }

    // MARK: Hospitals, map, public routes

    @Test func nearbyHospitalsComeFromTheBundledFile() async throws {
        let sos = try await SOSHarness.start()
        defer { Task { await sos.stop() } }
        let list = try #require(try await sos.get("/sos/hospitals/nearby?lat=28.6139&lon=77.209", as: "1").json?.arrayValue)
        #expect(list.first == ["id": 14, "name": "City General Hospital (example)", "lat": 28.6262, "lon": 77.2006,
                               "distance_km": 1.59, "address": "Example Road, New Delhi", "phone": nil])
        let distances = list.compactMap { $0["distance_km"]?.doubleValue }
        #expect(distances == distances.sorted() && distances.allSatisfy { $0 <= 10 } && list.count <= 10 && list.count > 2)
        #expect(!list.contains { $0["name"]?.stringValue?.hasPrefix("Central Clinic") == true }, "no emergency department")
        #expect(try await sos.get("/sos/hospitals/nearby?lat=28.6139&lon=77.209&limit=1", as: "1").json?.arrayValue?.count == 1)
        #expect(try await sos.get("/sos/hospitals/nearby?lat=28.6139&lon=77.209&radius_km=0.1", as: "1").json == [])
        #expect(try await sos.get("/sos/hospitals/nearby?lat=0&lon=0&radius_km=100", as: "1").json == [])
        #expect(try await sos.get("/sos/hospitals/nearby?lat=1&lon=1").status == 401)
    }

    @Test func anInvalidHospitalFileKeepsThePreviousListAndDegradesHealth() async throws {
        let sos = try await SOSHarness.start()
        defer { Task { await sos.stop() } }
        #expect(try await sos.gateway.request(.GET, "/health").json?["services"]?["sos"] == "healthy")
        try sos.folder.write("services/data/sos_hospitals.json", #"[{"id": 1, "name": "No coordinates"}]"#)
        let deadline = ContinuousClock.now + .seconds(10)
        var health: JSONValue?
        while ContinuousClock.now < deadline {
            health = try await sos.gateway.request(.GET, "/health").json?["services"]?["sos"]
            if health == "degraded" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(health == "degraded")
        let list = try await sos.get("/sos/hospitals/nearby?lat=28.6139&lon=77.209", as: "1").json?.arrayValue
        #expect(list?.first?["id"] == 14, "the last valid list stays in use")
    }

    @Test func aMissingHospitalFileAtStartDegradesHealth() async throws {
        let sos = try await SOSHarness.start(config: ["sos_hospitals_file": "services/data/missing.json"])
        defer { Task { await sos.stop() } }
        #expect(try await sos.gateway.request(.GET, "/health").json?["services"]?["sos"] == "degraded")
        #expect(try await sos.get("/sos/hospitals/nearby?lat=28.6139&lon=77.209", as: "1").json == [])
        // A file outside the config folder is refused unless ops configured it.
        let outside = try await SOSHarness.start(config: ["sos_hospitals_file": "../../etc/passwd"])
        defer { Task { await outside.stop() } }
        #expect(try await outside.gateway.request(.GET, "/health").json?["services"]?["sos"] == "degraded")
    }

    @Test func publicRoutesAndTheMapPage() async throws {
        let sos = try await SOSHarness.start()
        defer { Task { await sos.stop() } }
        let root = try await sos.get("/sos")
        #expect(root.status == 200 && root.json == ["message": "SOS Backend Module is running. Go to /docs for Swagger UI.", "dpdp_compliant": true])
        #expect(try await sos.get("/sos/").json == root.json)
        #expect(try await sos.get("/sos/health").json == ["status": "ok", "service": "sos_backend", "dpdp_compliant": true])

        let map = try await sos.get("/sos/map")
        #expect(map.status == 200 && map.header("Content-Type")?.hasPrefix("text/html") == true)
        let csp = try #require(map.header("Content-Security-Policy"))
        #expect(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"))
        let html = map.text
        for needed in ["TRIGGER SOS", "My Location", "<svg", "\"Medical\"", "\"Fire\"", "\"Police\"", "token=", "localStorage",
                       "Bearer ", "\"/sos\"", "\"/sos/\"", "/sos/hospitals/nearby?lat=", "Emergency Resolved! Ambulance has arrived.",
                       "28.61", "77.20", "OnTheWay", "Acknowledged", "2000"] {
            #expect(html.contains(needed), "map page lacks \(needed)")
        }
        for external in ["http://", "https://", "//cdn", "<script src", "<link", "@import", "url("] {
            #expect(!html.contains(external), "map page loads \(external)")
        }
    }

    // MARK: History and user rights

    @Test func historyDeletionRemovesEventsProfileAndOverrides() async throws {
        let sos = try await SOSHarness.start()
        defer { Task { await sos.stop() } }
        let first = try await sos.trigger(as: "1")
        _ = try await sos.trigger(as: "1", type: "Police")
        let other = try await sos.trigger(as: "2")
        _ = try await sos.send(.PUT, "/sos/emergency-profile/1", as: "1", json: ["name": "Asha"])
        #expect(try await sos.get("/sos/user/1", as: "1").json?.arrayValue?.count == 2)

        let deleted = try await sos.gateway.request(.DELETE, "/sos/user/1/history", headers: SOSHarness.token("1"))
        #expect(deleted.status == 200 && deleted.json == ["message": "Deleted 2 SOS events and emergency profile", "dpdp_compliant": true])
        #expect(try await sos.get("/sos/user/1", as: "1").json == [])
        #expect(try await sos.get("/sos/\(first["id"]!.intValue!)", as: "1").status == 404)
        #expect(try await sos.count("SELECT COUNT(*) AS n FROM consents WHERE user_id = '1' AND status = 'active'") == 0)
        #expect(try await sos.count("SELECT COUNT(*) AS n FROM sos_emergency_profiles WHERE user_id = '1'") == 0)
        // The other user's event and override are untouched.
        #expect(try await sos.get("/sos/\(other["id"]!.intValue!)", as: "2").status == 200)
        #expect(try await sos.count("SELECT COUNT(*) AS n FROM consents WHERE user_id = '2' AND status = 'active'") == 1)
        #expect(try await sos.auditRows(action: "delete", resourceType: "sos_event").count == 1)
    }

    @Test func myDataExportsAndErasesTheSOSData() async throws {
        let sos = try await SOSHarness.start(realTokens: true)
        defer { Task { await sos.stop() } }
        let (token, id) = try await sos.signup("9800000001", name: "Asha Rao")
        let (otherToken, otherID) = try await sos.signup("9800000002", name: "Ravi Rao")
        let auth = [("Authorization", "Bearer \(token)")]
        let event = try #require(try await sos.gateway.request(.POST, "/sos", headers: auth, json: ["latitude": 28.6, "longitude": 77.2, "emergency_type": "Medical"]).json)
        #expect(event["user_id"]?.stringValue == id)
        _ = try await sos.gateway.request(.PUT, "/sos/emergency-profile/\(id)", headers: auth, json: ["blood_group": "O-"])
        _ = try await sos.gateway.request(.POST, "/sos", headers: [("Authorization", "Bearer \(otherToken)")], json: ["latitude": 1, "longitude": 1, "emergency_type": "Fire"])

        // The export (also under the SOS alias) carries the events and the profile (06 §9).
        for path in ["/api/v1/my-data", "/sos/api/v1/my-data"] {
            let export = try await sos.gateway.request(.GET, path, headers: auth)
            #expect(export.status == 200, "\(export.text)")
            let data = try #require(export.json?["data"]?["sos"])
            #expect(data["events"]?.arrayValue?.map { $0["id"] } == [event["id"]])
            #expect(data["emergency_profile"]?["blood_group"] == "O-")
            #expect(export.json?["data"]?["consents"]?.arrayValue?.contains { $0["emergency_id"]?.stringValue == event["id"]?.intValue.map(String.init) } == true)
        }

        let erased = try await sos.gateway.request(.DELETE, "/api/v1/my-data?confirm=true", headers: auth)
        #expect(erased.status == 200, "\(erased.text)")
        #expect(erased.json?["records_deleted"]?["sos"] == 2)
        #expect(try await sos.count("SELECT COUNT(*) AS n FROM sos_events WHERE user_id = ?", .text(id)) == 0)
        #expect(try await sos.count("SELECT COUNT(*) AS n FROM sos_emergency_profiles WHERE user_id = ?", .text(id)) == 0)
        #expect(try await sos.count("SELECT COUNT(*) AS n FROM consents WHERE user_id = ?", .text(id)) == 0)
        #expect(try await sos.count("SELECT COUNT(*) AS n FROM sos_events WHERE user_id = ?", .text(otherID)) == 1)
        #expect(try await sos.audit.verify().valid)
    }

    // MARK: Notifier

    @Test func webhookIsSignedAndRetriedAfterAFailure() async throws {
        let receiver = try await WebhookReceiver.start(statuses: [500])
        let sos = try await SOSHarness.start(config: ["sos_webhook_url": receiver.url + "/hooks/sos", "sos_webhook_secret": "s3cret"])
        defer { Task { await sos.stop(); await receiver.stop() } }
        try await sos.addAccount(id: 1, name: "Mitesh Sai")
        _ = try await sos.send(.PUT, "/sos/emergency-profile/1", as: "1", json: [
            "emergency_contacts": [["name": "Sai Family", "phone": "9876543210"]], "allergies": ["Peanuts"],
        ])
        let event = try await sos.trigger(as: "1")

        let deliveries = await receiver.waitForDeliveries(2)
        try #require(deliveries.count == 2)
        #expect(deliveries.allSatisfy { $0.method == "POST" && $0.path == "/hooks/sos" })
        #expect(deliveries[0].body == deliveries[1].body)
        let gap = deliveries[1].receivedAt - deliveries[0].receivedAt
        #expect(gap >= .milliseconds(900) && gap < .seconds(4), "retried after about 1 s, got \(gap)")
        for delivery in deliveries {
            #expect(delivery.header("Content-Type") == "application/json" && delivery.header("X-MySehat-Event") == "sos.triggered")
            let expected = "sha256=" + Hex.encode(MessageAuthentication.hmacSHA256(key: Array("s3cret".utf8), message: delivery.body))
            #expect(delivery.header("X-MySehat-Signature") == expected)
        }
        let payload = try #require(deliveries[1].json?.objectValue)
        #expect(payload["event"] == "sos.triggered" && payload["sos_id"] == event["id"] && payload["user_id"] == "1")
        #expect(payload["status"] == "Acknowledged" && payload["assigned_ambulance_id"] == event["assigned_ambulance_id"])
        #expect(payload["timestamp"] == event["timestamp"] && payload["latitude"] == 28.6139 && payload["emergency_type"] == "Medical")
        #expect(payload["user_name"] == "Mitesh Sai")
        #expect(payload["contacts"] == [["name": "Sai Family", "phone": "9876543210", "relationship": nil]])
        #expect(payload["allergies"] == nil, "no health details")

        // The delivery is audited once (after the 2xx).
        var shared: [Row] = []
        for _ in 0..<50 where shared.isEmpty {
            shared = try await sos.auditRows(action: "data_shared")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(shared.count == 1 && shared.first?.string("details")?.contains("\"contacts\":1") == true)

        // Contacts are sent only when the user wants them told and shares them.
        _ = try await sos.send(.PUT, "/sos/emergency-profile/1", as: "1", json: ["auto_notify_emergency_contacts": false, "share_name": false])
        _ = try await sos.trigger(as: "1")
        let third = await receiver.waitForDeliveries(3)
        #expect(third.count == 3 && third.last?.json?["contacts"] == [] && third.last?.json?["user_name"] == .null)
    }

    @Test func aDeadWebhookNeverFailsTheTrigger() async throws {
        let sos = try await SOSHarness.start(config: ["sos_webhook_url": "http://127.0.0.1:1/hook"])
        defer { Task { await sos.stop() } }
        let started = ContinuousClock.now
        let response = try await sos.send(.POST, "/sos", as: "1", json: ["latitude": 12.9716, "longitude": 77.5946, "emergency_type": "Fire"])
        let elapsed = ContinuousClock.now - started
        #expect(response.status == 200 && response.json?["status"] == "Acknowledged")
        // Delivering first would take at least the 1 s + 4 s of backoff.
        #expect(elapsed < .seconds(4), "the trigger waited for the webhook: \(elapsed)")
        #expect(try await sos.get("/sos/\(response.json!["id"]!.intValue!)", as: "1").status == 200)
        #expect(try await sos.auditRows(action: "data_shared").isEmpty)
    }
}
