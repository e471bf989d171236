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

    /// The files scanned, in the tree's order.
    public let scanned: [Entry]
    /// Files not scanned because neither their name nor their content is a model format.
    public let skipped: [ModelTree.File]

    /// The whole scan as a report (files named by their paths on disk).
    public var report: ScanReport { ScanReport(files: scanned.map(\.report), skipped: skipped.map(\.displayPath)) }
}
