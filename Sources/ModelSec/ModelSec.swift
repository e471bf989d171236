// The umbrella module: `import ModelSec` brings in every capability.
@_exported import ModelSecCrypto
@_exported import ModelSecIO
@_exported import ModelSecKeys
@_exported import ModelSigning
@_exported import ArtifactEncryption
@_exported import AccessTokens
@_exported import DifferentialPrivacy

@_exported import ModelScanner
@_exported import ModelRelease
@_exported import PolicyCheck
@_exported import PKCS11Keys
@_exported import TransparencyLog
