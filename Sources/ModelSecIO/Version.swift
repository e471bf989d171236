/// Version information for modelsec.
public enum ModelSecVersion {
    /// The tool and library version, recorded in signatures' tooling fields,
    /// release manifests and reports.
    public static let current = "0.1.0"
}
