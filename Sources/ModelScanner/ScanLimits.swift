import ModelSecIO

/// Resource bounds applied to hostile input. Anything beyond a bound is a
/// `resource-limit` finding (the scan fails closed), never a crash or a skip.
public struct ScanLimits: Sendable {
    /// Largest pickle stream (plain file, archive member or .npy payload) read into memory.
    public var maxPickleBytes: Int = 2 << 30
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
    /// Largest .safetensors JSON header (the safetensors library's own limit).
    public var maxSafetensorsHeaderBytes: Int = 100_000_000

    /// The defaults.
    public init() {}
}

/// The version string recorded in reports.
enum ModelSecVersionString {
    static var value: String { ModelSecVersion.current }
}
