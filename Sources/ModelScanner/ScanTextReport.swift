/// The human-readable rendering of a `ScanReport` (what `modelsec scan` prints).
public enum ScanTextReport {
    /// One block per file (findings, and with `verbose` the imported globals),
    /// one line per skipped file, then a summary line. Every text that comes
    /// from the scanned files (paths, locations, messages, global names) goes
    /// through `escape` first: a terminal caller passes its control-character
    /// escaping, so a file name holding a line break or an escape sequence
    /// cannot forge or hide a line.
    public static func render(_ report: ScanReport, verbose: Bool = false, escape: (String) -> String = { $0 }) -> String {
        var out = ""
        // Room for a clean line per file; the lines are appended piece by
        // piece (an interpolated line is built as its own string first).
        out.reserveCapacity(report.files.count * (report.files.first.map { $0.path.utf8.count + 48 } ?? 0) + 128)
        for file in report.files {
            if file.isClean && !verbose {
                out += escape(file.path)
                out += ": "
                out += file.format.rawValue
                out += ", "
                out += String(file.streams.count)
                out += " pickle stream(s), clean\n"
                continue
            }
            let status = file.isClean ? "clean" : "\(file.findings.count) finding(s)"
            out += "\(escape(file.path)): \(file.format.rawValue), \(file.streams.count) pickle stream(s), \(status)\n"
            for finding in file.findings {
                let offset = finding.offset.map { " @\($0)" } ?? ""
                out += "  \(finding.severity.rawValue.uppercased()) \(finding.kind.rawValue) \(escape(finding.location))\(offset): \(escape(finding.message))\n"
            }
            if verbose {
                for stream in file.streams {
                    out += "  stream \(escape(stream.location)) protocol \(stream.pickleProtocol.map(String.init) ?? "0/1"), \(stream.opcodeCount) opcodes\n"
                    for global in stream.globals {
                        out += "    \(global.classification.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(escape(global.qualifiedName)) x\(global.count)\n"
                    }
                }
            }
        }
        for path in report.skipped {
            out += "\(escape(path)): skipped (not a model format)\n"
        }
        let s = report.summary
        out += "\(s.files) file(s), \(s.streams) pickle stream(s), \(s.dangerous) dangerous, \(s.suspicious) suspicious, \(s.errors) error(s), \(report.skipped.count) skipped\n"
        return out
    }
}
