import ModelSec

/// A library error with a command-line hint added to its message (the
/// library never names flags or commands): the same code, category and
/// path, so `--json` and the exit code are unchanged.
struct HintedError: ModelSecError {
    /// The library's error.
    let underlying: any ModelSecError
    /// What to do at the command line, shown in parentheses after the message.
    let hint: String?

    var category: FailureCategory { underlying.category }
    var code: String { underlying.code }
    var path: String? { underlying.path }
    var description: String { hint.map { "\(underlying.description) (\($0))" } ?? underlying.description }
}
