import ArgumentParser
import Foundation
import ModelSec

extension CLI {
    /// Ends the process after `error`: `modelsec: error: MESSAGE` on stderr
    /// (with usage lines for a usage error), with --json the failure
    /// envelope on stdout, and the exit code of the error's category.
    ///
    /// Every command — including ones owned elsewhere, such as the DP
    /// commands — just throws: a ``ModelSecError`` from the library, a
    /// ``CLIError``, a ``ReportedFailure`` carrying the report a command
    /// produced, or ArgumentParser's `ValidationError` from `run()`.
    static func finish(_ error: any Error) -> Never {
        switch error {
        case let exit as Exit:
            // A command that has printed its own report and only sets the exit code.
            Foundation.exit(exit.code)
        case let reported as ReportedFailure:
            fail(reported.error, report: reported.report)
        case let known as any ModelSecError:
            fail(known, report: nil)
        case let validation as ValidationError:
            fail(CLIError(.invalidArguments, validation.message), report: nil)
        default:
            fail(GenericFailure(message: String(describing: error), category: .invalidInput), report: nil)
        }
    }

    /// Reports `error` (and, with --json, `report`) and exits.
    static func fail(_ error: any ModelSecError, report: (any Encodable)?) -> Never {
        let code = exitCode(error.category)
        // An error that carries its own hint is not given the generic one too
        // (which may name a flag that is already on the command line).
        let ownHint = (error as? HintedError)?.hint != nil
        let message = ownHint ? error.description : FlagHints.apply(to: error.description, code: error.code)
        var line = "modelsec: error: \(terminalSafe(message))\n"
        if let cliError = error as? CLIError, let usage = cliError.usage { line += usage + "\n" }
        FileHandle.standardError.write(Data(line.utf8))
        if jsonRequested {
            let body = JSONEnvelope.ErrorBody(code: error.code, category: error.category, exitCode: code,
                                              message: message, path: error.path)
            if let data = try? JSONEnvelope.failure(body, report: report) {
                FileHandle.standardOutput.write(data)
            }
        }
        exit(code)
    }

    /// Prints `modelsec: error: MESSAGE` to stderr (and with --json the
    /// failure envelope, code `invalid-input` or `verification-failed`) and
    /// exits with `code`. Prefer throwing a typed error, which carries its
    /// own code.
    static func fail(_ message: String, code: Int32) -> Never {
        fail(GenericFailure(message: message, category: code == 1 ? .verificationFailed : .invalidInput), report: nil)
    }

    /// A failure with nothing but a message: it keeps the library's default
    /// codes (`invalid-input`, `verification-failed`).
    struct GenericFailure: ModelSecError {
        let message: String
        let category: FailureCategory
        var description: String { message }
    }
}
