import ModelSecIO

/// Resource bounds applied to hostile input. Anything beyond a bound is a
/// `resource-limit` finding (the scan fails closed), never a crash or a skip.
public struct ScanLimits: Sendable {
    /// Largest pickle stream held in memory: a deflated zip member (plain
    /// files, stored zip members, tar members and .npy payloads are read in
    /// place through a bounded window, whatever their size).
    public var maxPickleBytes: Int = 16 << 20
    /// Most memo entries one stream may define.
    public var maxMemoEntries: Int = 1 << 20
    /// Deepest the unpickling stack (values plus marks) may grow.
    public var maxStackDepth: Int = 1 << 20
    /// Most opcodes in one stream.
    public var maxOpcodes: Int = 1 << 28
    /// Most entries in a zip central directory.
    public var maxZipEntries: Int = 1 << 16
    /// Largest .npy header.
    public var maxNpyHeaderBytes: Int = 1 << 20
    /// Largest .safetensors JSON header (the safetensors library allows 100 MB;
    /// a larger header than this is a resource-limit finding, to keep memory bounded).
    public var maxSafetensorsHeaderBytes: Int = 16 << 20

    /// The defaults.
    public init() {}
}

/// The version string recorded in reports.
enum ModelSecVersionString {
    static var value: String { ModelSecVersion.current }
}
