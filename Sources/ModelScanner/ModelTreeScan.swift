import ModelSecIO

/// The scan of a walked model (``ModelScanner/scan(tree:limits:progress:)``):
/// every report attached to the file it describes.
public struct ModelTreeScan: Sendable {
    /// One scanned file and its report.
    public struct Entry: Sendable {
        /// The file, with its path in the model.
        public let file: ModelTree.File
        /// What the scanner found in it.
        public let report: FileScanReport
    }

    /// The walked root, as given.
    public let root: String
    /// The files scanned, in the tree's order.
    public let scanned: [Entry]
    /// Files not scanned because neither their name nor their content is a model format.
    public let skipped: [ModelTree.File]
    /// Reports for files that a scanned pickle makes its loader read but that
    /// are not files of the tree as spelled (`dir/./x.npy`, an ignored path):
    /// kept so that no finding is lost.
    public let unattached: [FileScanReport]

    /// The whole scan as a report (files named by their paths on disk).
    public var report: ScanReport {
        ScanReport(files: scanned.map(\.report) + unattached, skipped: skipped.map(\.displayPath))
    }
}
