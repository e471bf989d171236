import ModelSec

/// The command-line hints added to library errors of the `dp` commands
/// (the library never names a flag; see the error contract).
enum DPHints {
    /// Runs `body`; a DP error is rethrown with the flag that fixes it
    /// added to its message (same code and category), for `CLI.finish`.
    static func run(_ body: () throws -> Void) throws {
        do { try body() } catch let error as DPError {
            throw HintedError(underlying: error, hint: hint(error))
        }
    }

    /// The hint for a person at the command line, if `error` has one.
    static func hint(_ error: DPError) -> String? {
        switch error {
        case .unknownDataset:
            return "set one with: modelsec dp budget --ledger DB|--store URL --dataset NAME --set-total E"
        case .relationMismatch(_, let ledger, _, _):
            return "pass --relation \(ledger.rawValue), or omit --relation to use the dataset's"
        case .requestReplayed:
            return "use a new --request-id for a new release"
        default:
            return nil
        }
    }
}
