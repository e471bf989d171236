import CPKCS11
import Foundation

/// A PKCS#11 module (an HSM vendor's library, SoftHSM2, a cloud KMS's PKCS#11
/// bridge) loaded with `dlopen` and called through the standard function
/// table it returns from `C_GetFunctionList`.
///
/// We call Cryptoki directly rather than through an OpenSSL engine or
/// provider: on Debian 12 neither handles Ed25519 keys in a token, and no
/// maintained Swift PKCS#11 library exists to build on.
///
/// The module is initialised with `CKF_OS_LOCKING_OK`, so the standard allows
/// calls from several threads; sessions are still used by one thread at a time
/// (``PKCS11Session`` serialises its own calls). Cryptoki is initialised once
/// per process, so ``load(path:)`` hands out one shared instance per module
/// path; `C_Finalize` runs when the last user of it goes away.
/// `@unchecked Sendable`: the function list is fixed after loading and the module is
/// initialised with `CKF_OS_LOCKING_OK`, so Cryptoki serialises calls itself.
public final class PKCS11Module: @unchecked Sendable {
    // @unchecked: the function table is immutable after C_Initialize and the
    // module was initialised for multi-threaded use (CKF_OS_LOCKING_OK).

    /// The path the module was loaded from.
    public let path: String
    private let handle: UnsafeMutableRawPointer
    let functions: UnsafeMutablePointer<CK_FUNCTION_LIST>
    private let initialisedHere: Bool

    /// The live instances by path. Cryptoki's own state is per process (a
    /// second `C_Initialize` fails), so this one registry mirrors it.
    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var registry: [String: Weak] = [:]
    private struct Weak { weak var module: PKCS11Module? }

    /// The module at `path` (an absolute path): the instance already loaded in
    /// this process, or a newly loaded and initialised one.
    public static func load(path: String) throws -> PKCS11Module {
        registryLock.lock()
        defer { registryLock.unlock() }
        if let live = registry[path]?.module { return live }
        let module = try PKCS11Module(path: path)
        registry[path] = Weak(module: module)
        return module
    }

    private init(path: String) throws {
        self.path = path
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            throw PKCS11Error.moduleLoad(path: path, reason: reason)
        }
        guard let symbol = dlsym(handle, "C_GetFunctionList") else {
            dlclose(handle)
            throw PKCS11Error.moduleLoad(path: path, reason: "no C_GetFunctionList symbol (not a PKCS#11 module)")
        }
        let getFunctionList = unsafeBitCast(symbol, to: CK_C_GetFunctionList.self)
        var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
        let rv = getFunctionList(&list)
        guard rv == CKR_OK, let list, list.pointee.C_Initialize != nil else {
            dlclose(handle)
            throw PKCS11Error.moduleLoad(path: path, reason: "C_GetFunctionList returned \(PKCS11ReturnValue.name(rv))")
        }
        var args = CK_C_INITIALIZE_ARGS()
        args.flags = CK_FLAGS(CKF_OS_LOCKING_OK)
        let initRV = withUnsafeMutablePointer(to: &args) { list.pointee.C_Initialize!(UnsafeMutableRawPointer($0)) }
        guard initRV == CKR_OK || initRV == CKR_CRYPTOKI_ALREADY_INITIALIZED else {
            dlclose(handle)
            throw PKCS11Error.moduleLoad(path: path, reason: "C_Initialize returned \(PKCS11ReturnValue.name(initRV))")
        }
        self.handle = handle
        self.functions = list
        self.initialisedHere = initRV == CKR_OK
    }

    deinit {
        if initialisedHere { _ = functions.pointee.C_Finalize?(nil) }
        dlclose(handle)
    }

    /// Calls a Cryptoki function and throws ``PKCS11Error/call(function:rv:)`` unless it returns `CKR_OK`.
    func check(_ name: String, _ rv: CK_RV) throws {
        guard rv == CKR_OK else { throw PKCS11Error.call(function: name, rv: UInt(rv)) }
    }

    /// The slots that hold a token, with the token's identifying fields.
    public func tokens() throws -> [PKCS11TokenInfo] {
        let f = functions.pointee
        var count: CK_ULONG = 0
        try check("C_GetSlotList", f.C_GetSlotList(CK_BBOOL(CK_TRUE), nil, &count))
        guard count <= 4096 else { throw PKCS11Error.malformedResponse(function: "C_GetSlotList", reason: "\(count) slots") }
        var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
        try check("C_GetSlotList", f.C_GetSlotList(CK_BBOOL(CK_TRUE), &slots, &count))
        return try slots.prefix(Int(count)).map { slot in
            var info = CK_TOKEN_INFO()
            try check("C_GetTokenInfo", f.C_GetTokenInfo(slot, &info))
            return PKCS11TokenInfo(slotID: UInt(slot), info: info)
        }
    }
}

/// The fields of a token that a PKCS#11 URI matches on, blank padding removed.
public struct PKCS11TokenInfo: Sendable, Equatable {
    /// The slot holding the token.
    public let slotID: UInt
    /// `CKA_LABEL` of the token (`token=` in a URI).
    public let label: [UInt8]
    /// Manufacturer id (`manufacturer=`).
    public let manufacturer: [UInt8]
    /// Model (`model=`).
    public let model: [UInt8]
    /// Serial number (`serial=`).
    public let serial: [UInt8]

    init(slotID: UInt, info: CK_TOKEN_INFO) {
        self.slotID = slotID
        label = Self.unpadded(info.label)
        manufacturer = Self.unpadded(info.manufacturerID)
        model = Self.unpadded(info.model)
        serial = Self.unpadded(info.serialNumber)
    }

    /// PKCS#11 pads these fixed-size fields with spaces (RFC 7512 section 2.3
    /// compares them with the padding removed).
    private static func unpadded<T>(_ tuple: T) -> [UInt8] {
        var bytes = withUnsafeBytes(of: tuple) { Array($0) }
        while let last = bytes.last, last == UInt8(ascii: " ") { bytes.removeLast() }
        return bytes
    }

    /// Whether every token attribute the URI gives equals this token's, byte for byte.
    public func matches(_ uri: PKCS11URI) -> Bool {
        (uri.token.map { $0 == label } ?? true)
            && (uri.manufacturer.map { $0 == manufacturer } ?? true)
            && (uri.model.map { $0 == model } ?? true)
            && (uri.serial.map { $0 == serial } ?? true)
            && (uri.slotID.map { $0 == slotID } ?? true)
    }
}
