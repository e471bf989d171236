import CPKCS11
import Foundation
import ModelSecCrypto
import ModelSecKeys

/// A logged-in session with the one token a ``PKCS11URI`` names.
///
/// A PKCS#11 session must not be used by two threads at once; every call
/// here takes the session's lock. The session logs out and closes when the
/// value goes away.
/// `@unchecked Sendable`: every Cryptoki call on the session handle holds `lock`.
public final class PKCS11Session: @unchecked Sendable {
    // @unchecked: all mutable use of the session handle happens under `lock`.

    /// The module the session belongs to (kept alive by the session).
    public let module: PKCS11Module
    /// The token the session is open on.
    public let token: PKCS11TokenInfo
    let handle: CK_SESSION_HANDLE
    private let lock = NSLock()
    private let uriText: String

    /// Loads the URI's module, finds its one matching token, opens a session
    /// (read-write when `readWrite`) and logs in with the PIN from the URI's
    /// pin source (the PIN is zeroed as soon as the token has it).
    public init(uri: PKCS11URI, readWrite: Bool = false, module: PKCS11Module? = nil) throws {
        let module = try module ?? PKCS11Module.load(path: uri.modulePath!)
        self.module = module
        self.uriText = uri.description
        let matching = try module.tokens().filter { $0.matches(uri) }
        guard matching.count == 1 else { throw PKCS11Error.token(matching: matching.count, uri: uri.description) }
        token = matching[0]
        let f = module.functions.pointee
        var session: CK_SESSION_HANDLE = 0
        var flags = CK_FLAGS(CKF_SERIAL_SESSION)
        if readWrite { flags |= CK_FLAGS(CKF_RW_SESSION) }
        try module.check("C_OpenSession", f.C_OpenSession(CK_SLOT_ID(token.slotID), flags, nil, nil, &session))
        handle = session

        let pin = try uri.effectivePINSource.read()
        let rv = pin.withUnsafeBytes { raw -> CK_RV in
            let bytes = UnsafeMutablePointer(mutating: raw.bindMemory(to: CK_UTF8CHAR.self).baseAddress)
            return f.C_Login(session, CK_USER_TYPE(CKU_USER), bytes, CK_ULONG(raw.count))
        }
        guard rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN else {
            _ = f.C_CloseSession(session)
            throw PKCS11Error.login(rv: UInt(rv), uri: uri.description)
        }
    }

    deinit {
        let f = module.functions.pointee
        _ = f.C_Logout(handle)
        _ = f.C_CloseSession(handle)
    }

    /// Runs `body` holding the session lock.
    func locked<T>(_ body: (CK_FUNCTION_LIST) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(module.functions.pointee)
    }

    /// The handles of objects of `objectClass` with the URI's `object=` label and `id=`.
    func findObjects(class objectClass: CK_OBJECT_CLASS, label: [UInt8]?, id: [UInt8]?) throws -> [CK_OBJECT_HANDLE] {
        try locked { f in
            var template = PKCS11Template()
            template.append(CK_ATTRIBUTE_TYPE(CKA_CLASS), ulong: CK_ULONG(objectClass))
            if let label { template.append(CK_ATTRIBUTE_TYPE(CKA_LABEL), bytes: label) }
            if let id { template.append(CK_ATTRIBUTE_TYPE(CKA_ID), bytes: id) }
            try template.withAttributes { attrs, count in
                try module.check("C_FindObjectsInit", f.C_FindObjectsInit(handle, attrs, count))
            }
            defer { _ = f.C_FindObjectsFinal(handle) }
            var found: [CK_OBJECT_HANDLE] = []
            var batch = [CK_OBJECT_HANDLE](repeating: 0, count: 16)
            while true {
                var n: CK_ULONG = 0
                try module.check("C_FindObjects", f.C_FindObjects(handle, &batch, CK_ULONG(batch.count), &n))
                guard n <= batch.count else { throw PKCS11Error.malformedResponse(function: "C_FindObjects", reason: "\(n) objects") }
                if n == 0 { break }
                found += batch.prefix(Int(n))
                // Two matches already make the URI ambiguous; never enumerate a huge token.
                if found.count > 64 { break }
            }
            return found
        }
    }

    /// Reads one attribute's value (at most 16 KiB; PKCS#11 first reports the length).
    func attribute(_ type: CK_ATTRIBUTE_TYPE, of object: CK_OBJECT_HANDLE, name: String) throws -> [UInt8]? {
        try locked { f in
            var attr = CK_ATTRIBUTE(type: type, pValue: nil, ulValueLen: 0)
            let rv = f.C_GetAttributeValue(handle, object, &attr, 1)
            if rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE { return nil }
            try module.check("C_GetAttributeValue(\(name))", rv)
            // CK_UNAVAILABLE_INFORMATION is all ones.
            guard attr.ulValueLen <= 16 * 1024 else {
                if attr.ulValueLen == CK_ULONG.max { return nil }
                throw PKCS11Error.malformedResponse(function: "C_GetAttributeValue(\(name))", reason: "\(attr.ulValueLen) bytes")
            }
            var value = [UInt8](repeating: 0, count: Int(attr.ulValueLen))
            let length = attr.ulValueLen
            try value.withUnsafeMutableBytes { buf in
                attr.pValue = buf.baseAddress
                attr.ulValueLen = length
                try module.check("C_GetAttributeValue(\(name))", f.C_GetAttributeValue(handle, object, &attr, 1))
            }
            guard attr.ulValueLen <= length else {
                throw PKCS11Error.malformedResponse(function: "C_GetAttributeValue(\(name))", reason: "length grew")
            }
            return Array(value.prefix(Int(attr.ulValueLen)))
        }
    }

    /// A boolean attribute (`CKA_SENSITIVE`, `CKA_EXTRACTABLE`, ...), nil when the token does not say.
    func bool(_ type: CK_ATTRIBUTE_TYPE, of object: CK_OBJECT_HANDLE, name: String) throws -> Bool? {
        guard let v = try attribute(type, of: object, name: name) else { return nil }
        guard v.count == 1 else { throw PKCS11Error.malformedResponse(function: "C_GetAttributeValue(\(name))", reason: "boolean of \(v.count) bytes") }
        return v[0] != 0
    }

    /// An unsigned-long attribute (`CKA_KEY_TYPE`, `CKA_CLASS`).
    func ulong(_ type: CK_ATTRIBUTE_TYPE, of object: CK_OBJECT_HANDLE, name: String) throws -> CK_ULONG? {
        guard let v = try attribute(type, of: object, name: name) else { return nil }
        guard v.count == MemoryLayout<CK_ULONG>.size else {
            throw PKCS11Error.malformedResponse(function: "C_GetAttributeValue(\(name))", reason: "integer of \(v.count) bytes")
        }
        return v.withUnsafeBytes { $0.loadUnaligned(as: CK_ULONG.self) }
    }
}

/// Owns the memory of a PKCS#11 attribute template while a call uses it.
struct PKCS11Template {
    private var entries: [(CK_ATTRIBUTE_TYPE, [UInt8])] = []

    mutating func append(_ type: CK_ATTRIBUTE_TYPE, bytes: [UInt8]) { entries.append((type, bytes)) }

    mutating func append(_ type: CK_ATTRIBUTE_TYPE, ulong: CK_ULONG) {
        entries.append((type, withUnsafeBytes(of: ulong) { Array($0) }))
    }

    mutating func append(_ type: CK_ATTRIBUTE_TYPE, bool: Bool) {
        entries.append((type, [bool ? UInt8(CK_TRUE) : UInt8(CK_FALSE)]))
    }

    /// Calls `body` with a C array of attributes pointing into stable copies of the values.
    func withAttributes<T>(_ body: (UnsafeMutablePointer<CK_ATTRIBUTE>?, CK_ULONG) throws -> T) rethrows -> T {
        let buffers = entries.map { entry -> UnsafeMutableRawBufferPointer in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(entry.1.count, 1), alignment: 8)
            buffer.copyBytes(from: entry.1)
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        var attributes = zip(entries, buffers).map { entry, buffer in
            CK_ATTRIBUTE(type: entry.0, pValue: buffer.baseAddress, ulValueLen: CK_ULONG(entry.1.count))
        }
        return try attributes.withUnsafeMutableBufferPointer { try body($0.baseAddress, CK_ULONG($0.count)) }
    }
}
