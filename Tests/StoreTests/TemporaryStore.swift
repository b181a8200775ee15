import Foundation
import Store

/// A fresh folder under the system temp dir, removed after body.
@discardableResult
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("store-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    return try await body(folder)
}

/// A store on a real file in a fresh temp folder.
@discardableResult
func withTemporaryStore<T>(_ body: (SQLiteStore, String) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { folder in
        let path = folder + "/test.sqlite"
        let store = try SQLiteStore(path: path)
        return try await body(store, path)
    }
}

struct Boom: Error, Equatable {}
