import Foundation

/// A SoftHSM2 token in a temporary folder, for tests that need a real PKCS#11
/// module. SoftHSM2 reads `SOFTHSM2_CONF` when the module is initialised, so
/// the variable is set for this process (and passed to child processes).
///
/// A missing SoftHSM2 is a test failure, never a skip: `.ci/run` and
/// `make deps` install it (Debian package `softhsm2`).
public struct SoftHSMToken {
    public static let modulePath = "/usr/lib/softhsm/libsofthsm2.so"
    public let directory: URL
    public let label: String
    public let pin: String
    public let pinFile: String
    public let configPath: String

    /// The environment a child `modelsec` needs to see this token.
    public var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["SOFTHSM2_CONF"] = configPath
        return env
    }

    /// Creates and initialises a token named `label` with user PIN `pin`.
    public static func make(label: String = "release", pin: String = "123456") throws -> SoftHSMToken {
        guard FileManager.default.fileExists(atPath: modulePath) else {
            throw TokenSetupError(message: "\(modulePath) is missing: install softhsm2 (make deps does)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("softhsm-\(UUID().uuidString)")
        let tokens = dir.appendingPathComponent("tokens")
        try FileManager.default.createDirectory(at: tokens, withIntermediateDirectories: true)
        let conf = dir.appendingPathComponent("softhsm2.conf")
        try "directories.tokendir = \(tokens.path)\nobjectstore.backend = file\nlog.level = ERROR\n"
            .write(to: conf, atomically: true, encoding: .utf8)
        setenv("SOFTHSM2_CONF", conf.path, 1)
        let r = try TestSupport.run("/usr/bin/softhsm2-util", ["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "87654321"],
                                    environment: ["SOFTHSM2_CONF": conf.path, "PATH": "/usr/bin:/bin"])
        guard r.status == 0 else { throw TokenSetupError(message: "softhsm2-util --init-token failed: \(r.stderrText)") }
        let pinFile = dir.appendingPathComponent("pin.txt")
        try (pin + "\n").write(to: pinFile, atomically: true, encoding: .utf8)
        chmod(pinFile.path, 0o600)
        return SoftHSMToken(directory: dir, label: label, pin: pin, pinFile: pinFile.path, configPath: conf.path)
    }

    /// A URI for object `object` in this token, PIN from the PIN file.
    public func uri(object: String, extra: String = "") -> String {
        "pkcs11:token=\(label);object=\(object)\(extra)?module-path=\(Self.modulePath)&pin-source=file:\(pinFile)"
    }

    public func remove() { try? FileManager.default.removeItem(at: directory) }

    public struct TokenSetupError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
