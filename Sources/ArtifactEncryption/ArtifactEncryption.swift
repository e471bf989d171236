/// Streamed, key-committing AES-256-GCM encryption of model artifacts for one
/// or more recipients. The byte format is specified in docs/encryption-format.md.
public enum ArtifactEncryption {}
