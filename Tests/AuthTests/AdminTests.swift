import AuthService
import HTTPTypes
import ServiceKit
import Store
import Testing

@Suite("Auth: admin endpoints and roles")
struct AdminTests {
    static let seeds = ["MYSEHAT_ROLE_SEEDS": "9000000900:admin, 9000000901:admin"]

    @Test func adminsOnly() async throws {
        let auth = try await AuthHarness.make(environment: Self.seeds)
        defer { auth.remove() }
        let patient = try await auth.signup("9000000200")
        for (method, path) in [(HTTPRequest.Method.get, "/users"), (.get, "/users/1"), (.get, "/users/phone/9000000200"), (.put, "/users/1/role")] {
            let reply = try await auth.call(method, path, json: ["role": "admin"], token: patient)
            #expect(reply.status == 403 && reply.detail == "This endpoint requires one of the roles: admin")
            #expect(try await auth.call(method, path, json: ["role": "admin"]).status == 401)
        }
    }

    @Test func directory() async throws {
        let auth = try await AuthHarness.make(environment: Self.seeds)
        defer { auth.remove() }
        let admin = try await auth.signup("9000000900", name: "Admin")
        for index in 1...3 { _ = try await auth.signup("900000021\(index)", name: "User \(index)") }

        let all = try await auth.call(.get, "/users", token: admin)
        #expect(all.json.arrayValue?.map { $0["id"] } == [1, 2, 3, 4])
        #expect(all.json.arrayValue?[1]["consents"]?.arrayValue?.count == 3)
        #expect(all.json.arrayValue?[1]["preferences"]?["language"] == "en")
        let page = try await auth.call(.get, "/users?skip=1&limit=2", token: admin)
        #expect(page.json.arrayValue?.map { $0["name"] } == ["User 1", "User 2"])
        let bad = try await auth.call(.get, "/users?skip=-1&limit=201", token: admin)
        #expect(bad.issues == ["greater_than_equal query.skip", "less_than_equal query.limit"])
        #expect(try await auth.call(.get, "/users?limit=x", token: admin).issues == ["int_parsing query.limit"])

        let one = try await auth.call(.get, "/users/3", token: admin)
        #expect(one.json["name"] == "User 2")
        #expect(try await auth.call(.get, "/users/phone/9000000213", token: admin).json["id"] == 4)
        let missing = try await auth.call(.get, "/users/99", token: admin)
        #expect(missing.status == 404 && missing.detail == "User not found")
        #expect(try await auth.call(.get, "/users/phone/1234567890", token: admin).detail == "User not found")
        #expect(try await auth.call(.get, "/users/abc", token: admin).issues == ["int_parsing path.user_id"])
    }

    @Test func roleChangeRevokesTokensAndKeepsOneAdmin() async throws {
        let auth = try await AuthHarness.make(environment: Self.seeds)
        defer { auth.remove() }
        let admin = try await auth.signup("9000000900")
        let patient = try await auth.signup("9000000300")
        let patientID = try #require(await auth.verify(patient)?.id)

        #expect(try await auth.call(.put, "/users/\(patientID)/role", json: ["role": "doctor"], token: admin).issues == ["enum body.role"])
        #expect(try await auth.call(.put, "/users/99/role", json: ["role": "clinician"], token: admin).status == 404)
        let changed = try await auth.call(.put, "/users/\(patientID)/role", json: ["role": "clinician"], token: admin)
        #expect(changed.status == 200 && changed.json["role"] == "clinician")
        #expect(await auth.verify(patient) == nil)
        let relogged = try #require(try await auth.login("9000000300").json["access_token"]?.stringValue)
        #expect(await auth.verify(relogged)?.role == "clinician")

        // The only admin cannot step down...
        let lastAdmin = try await auth.call(.put, "/users/1/role", json: ["role": "patient"], token: admin)
        #expect(lastAdmin.status == 400 && lastAdmin.detail == "Cannot remove the last admin")
        #expect(await auth.verify(admin)?.role == "admin")
        // ...until there is another.
        let second = try await auth.signup("9000000901")
        #expect(try await auth.call(.put, "/users/1/role", json: ["role": "patient"], token: second).json["role"] == "patient")
        #expect(await auth.verify(admin) == nil)
        let own = try await auth.call(.put, "/users/3/role", json: ["role": "responder"], token: second)
        #expect(own.status == 400 && own.detail == "Cannot remove the last admin")
        #expect(try await auth.call(.put, "/users/3/role", json: ["role": "admin"], token: second).json["role"] == "admin")
    }
}
