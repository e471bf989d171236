/// Signing and verification of model versions in the OpenSSF Model Signing
/// (OMS) v1.0 format: a Sigstore bundle whose DSSE envelope carries an in-toto
/// statement listing the digest of every file of the model.
public enum ModelSigning {}
