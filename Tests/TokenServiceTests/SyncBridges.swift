import AccessTokens
import Foundation
import ModelSecCrypto
import ModelSecKeys
import TokenService

/// Waits on the calling thread (an XCTest method's thread, never one of the
/// cooperative pool's) for async work; the synchronous overloads below let
/// the tests written before the store became async call the real async API
/// unchanged.
func blockingWait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = BlockingBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

/// The result handed from the task to the waiting thread.
final class BlockingBox<T: Sendable>: @unchecked Sendable { // written by the task before the signal, read after the wait
    var result: Result<T, any Error>?
}

extension TokenServiceStore {
    func client(id: String) throws -> RegisteredClient? { try blockingWait { try await self.client(id: id) } }
    func addClient(_ client: RegisteredClient, now: Int64) throws { try blockingWait { try await self.addClient(client, now: now) } }
    func consumeAssertion(clientID: String, tokenID: String, expiresAt: Int64, now: Int64) throws -> Bool {
        try blockingWait { try await self.consumeAssertion(clientID: clientID, tokenID: tokenID, expiresAt: expiresAt, now: now) }
    }
    func revoke(tokenID: String, clientID: String, expiresAt: Int64, now: Int64) throws {
        try blockingWait { try await self.revoke(tokenID: tokenID, clientID: clientID, expiresAt: expiresAt, now: now) }
    }
    func isRevoked(tokenID: String) throws -> Bool { try blockingWait { try await self.isRevoked(tokenID: tokenID) } }
    func record(_ event: AuditRecord) throws { try blockingWait { try await self.record(event) } }
    func auditRecords(limit: Int) throws -> [AuditRecord] { try blockingWait { try await self.auditRecords(limit: limit) } }
    func auditRecords(since: Int64, limit: Int) throws -> [AuditRecord] {
        try blockingWait { try await self.auditRecords(since: since, limit: limit) }
    }
    func latestAuditRecords(since: Int64, limit: Int) throws -> [AuditRecord] {
        try blockingWait { try await self.latestAuditRecords(since: since, limit: limit) }
    }
    func deleteAuditRecords(before: Int64) throws -> Int { try blockingWait { try await self.deleteAuditRecords(before: before) } }
    func signingKeys() throws -> [SigningKeyRecord] { try blockingWait { try await self.signingKeys() } }
    func replaceSigningKeys(_ records: [SigningKeyRecord]) throws { try blockingWait { try await self.replaceSigningKeys(records) } }
}

extension TokenEndpoint {
    init(config: ServiceConfig, issuer: AccessTokenIssuer, store: any TokenServiceStore,
         throttle: FailureThrottle = FailureThrottle()) throws {
        self = try blockingWait { try await TokenEndpoint(config: config, issuer: issuer, store: store, throttle: throttle) }
    }

    init(config: ServiceConfig, keys: KeyRing, store: any TokenServiceStore, throttle: FailureThrottle = FailureThrottle()) throws {
        self = try blockingWait { try await TokenEndpoint(config: config, keys: keys, store: store, throttle: throttle) }
    }

    func handle(authorization: String?, contentType: String?, body: [UInt8], address: String? = nil,
                now: Date = Date(), note: RequestNote? = nil) throws -> Success {
        try blockingWait {
            try await self.handle(authorization: authorization, contentType: contentType, body: body, address: address, now: now, note: note)
        }
    }
}

extension TokenManagement {
    func revoke(authorization: String?, contentType: String?, body: [UInt8], address: String? = nil,
                now: Date = Date(), note: RequestNote? = nil) throws -> [UInt8] {
        try blockingWait {
            try await self.revoke(authorization: authorization, contentType: contentType, body: body, address: address, now: now, note: note)
        }
    }

    func introspect(authorization: String?, contentType: String?, body: [UInt8], address: String? = nil,
                    now: Date = Date(), note: RequestNote? = nil) throws -> [UInt8] {
        try blockingWait {
            try await self.introspect(authorization: authorization, contentType: contentType, body: body, address: address, now: now,
                                      note: note)
        }
    }
}

extension KeyRing {
    /// ``KeyRing/init(store:initial:issuer:maximumTTL:now:loader:)``, waited for.
    static func make(store: any TokenServiceStore, initial: (any Signer)?, issuer: String, maximumTTL: TokenDuration,
                     now: Date = Date(), loader: @escaping @Sendable (String) throws -> any Signer) throws -> KeyRing {
        try blockingWait { try await KeyRing(store: store, initial: initial, issuer: issuer, maximumTTL: maximumTTL, now: now, loader: loader) }
    }

    func current(now: Date = Date()) -> Snapshot { (try? blockingWait { await self.current(now: now) })! }
}

extension TokenServer {
    init(config: ServiceConfig, signer: any Signer, store: any TokenServiceStore) throws {
        self = try blockingWait { try await TokenServer(config: config, signer: signer, store: store) }
    }

    init(config: ServiceConfig, keys: KeyRing, store: any TokenServiceStore) throws {
        self = try blockingWait { try await TokenServer(config: config, keys: keys, store: store) }
    }
}
