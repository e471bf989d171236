/// Release bundles: one signed, encrypted directory per model version
/// (`modelsec release create`), and the deploy gate that verifies, checks the
/// token, decrypts and only then puts the model in place (`modelsec release verify`).
public enum ModelRelease {}
