/// A finding from one of the non-pickle format checks (GGUF, ONNX, Keras,
/// HDF5, SavedModel), before it is attached to the file's report.
struct FormatFinding: Equatable {
    /// How serious it is.
    let severity: FindingSeverity
    /// What kind of problem.
    let kind: FindingKind
    /// Where in the file (appended to the file's path after `:`), or nil for the file itself.
    let place: String?
    /// One line for a person.
    let message: String

    /// A finding.
    init(_ severity: FindingSeverity, _ kind: FindingKind, _ message: String, at place: String? = nil) {
        self.severity = severity
        self.kind = kind
        self.place = place
        self.message = message
    }
}

extension FileScan {
    /// Attaches format findings to this file's report.
    mutating func add(_ formatFindings: [FormatFinding]) {
        for finding in formatFindings {
            add(finding.severity, finding.kind, finding.place.map { "\(path):\($0)" } ?? path, finding.message)
        }
    }
}
