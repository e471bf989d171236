import ArgumentParser
import Foundation
import ModelSec

/// `--strict-permissions`, shared by every command that reads a secret key
/// file (a private key or an `aes256` key file).
///
/// By default a secret key file that the group or others can read is used
/// with a warning, because Kubernetes mounts Secrets 0644 unless told
/// otherwise; with the flag (or `MODELSEC_STRICT_PERMISSIONS=1`, for a whole
/// pipeline) it is refused with exit 2, as ssh refuses an exposed identity.
struct KeyPermissionOptions: ParsableArguments {
    /// The environment variable that turns strict mode on for every command.
    static let environmentVariable = "MODELSEC_STRICT_PERMISSIONS"

    @Flag(name: .customLong("strict-permissions"),
          help: "Refuse a private or aes256 key file that the group or others can read, instead of warning (also on when MODELSEC_STRICT_PERMISSIONS=1, true, yes or on).")
    var strictFlag = false

    /// True when an exposed key file is refused rather than warned about
    /// (the variable read as every boolean variable is, ``EnvironmentFlag``).
    var isStrict: Bool {
        get throws { try strictFlag || EnvironmentFlag.isOn(Self.environmentVariable) }
    }

    func validate() throws {
        _ = try isStrict
    }

    /// Warns about, or in strict mode refuses, a secret key file at `path`
    /// that is readable by the group or others. A file that holds no secret
    /// key (a certificate, a public key, a vkey, a JWK Set, text) gets no
    /// warning: reading it as a key then fails with what it is instead.
    func check(_ path: String) throws {
        guard KeyFile.holdsSecretKeyMaterial(path) else { return }
        if try isStrict {
            try KeyFile.requirePrivatePermissions(path)
        } else if let warning = KeyFile.permissionWarning(path) {
            CLI.warn(warning)
        }
    }
}
