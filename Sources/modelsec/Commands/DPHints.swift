import ModelSec

/// The command-line hints added to library errors of the `dp` commands
/// (the library never names a flag; see the error contract).
enum DPHints {
    /// Runs `body`; a DP error is printed with the flag that fixes it, and exits with its category's code.
    static func run(_ body: () throws -> Void) throws {
        do { try body() } catch let error as DPError {
            CLI.fail(Hinted(base: error, description: message(error)), report: nil)
        }
    }

    /// A DP error with the command-line hint added, keeping its code and category.
    struct Hinted: ModelSecError {
        let base: DPError
        let description: String
        var category: FailureCategory { base.category }
        var code: String { base.code }
        var path: String? { base.path }
    }

    /// `error`'s description with a hint for a person at the command line.
    static func message(_ error: DPError) -> String {
        switch error {
        case .unknownDataset:
            return "\(error.description) (set one with: modelsec dp budget --ledger DB|--store URL --dataset NAME --set-total E)"
        case .relationMismatch(_, let ledger, _, _):
            return "\(error.description) (pass --relation \(ledger.rawValue), or omit --relation to use the dataset's)"
        case .requestReplayed:
            return "\(error.description) (use a new --request-id for a new release)"
        default:
            return error.description
        }
    }
}
