import Foundation

extension TestSupport {
    /// How many MiB the process's peak resident size grew by while `body`
    /// ran. Linux only: the peak (`VmHWM`) is reset first by writing 5 to
    /// `/proc/self/clear_refs`, and the reset itself is checked.
    public static func peakResidentGrowthMiB(_ body: () throws -> Void) throws -> Int {
        guard let clear = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else {
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "no /proc/self/clear_refs: the peak resident size cannot be reset"])
        }
        try clear.write(contentsOf: Data("5".utf8))
        try clear.close()
        let before = try residentKiB("VmRSS")
        let peak = try residentKiB("VmHWM")
        guard peak <= before + 1024 else {
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "the peak resident size was not reset (\(peak) KiB, now \(before) KiB)"])
        }
        try body()
        return (try residentKiB("VmHWM") - before) / 1024
    }

    private static func residentKiB(_ field: String) throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
              let kib = Int(line.split(separator: " ").dropFirst().first ?? "") else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return kib
    }
}
