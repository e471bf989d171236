import Foundation

/// The one reading of a boolean environment variable
/// (`MODELSEC_REQUIRE_TOKEN`, `MODELSEC_STRICT_PERMISSIONS`): `1`, `true`,
/// `yes` and `on` (any case) turn it on; unset, empty, `0`, `false`, `no`
/// and `off` leave it off; anything else is a usage error naming the
/// variable, so `=TRUE` or `=enabled` never silently means "off".
enum EnvironmentFlag {
    /// Whether `name` is on in `environment`, or `usage.invalid-value` when
    /// its value is not one of the accepted spellings.
    static func isOn(_ name: String, in environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Bool {
        guard let raw = environment[name] else { return false }
        switch raw.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off", "": return false
        default:
            throw CLIError(.invalidValue, "\(name)=\"\(CLI.terminalSafe(raw))\" is not a boolean: use 1, true, yes or on (any case) to turn it on, or 0, false, no, off or empty to turn it off")
        }
    }

}
