import ModelSecIO

/// A signature file that cannot be used: unreadable, not JSON, not an OMS
/// v1.0 Sigstore bundle, or a payload that is not a model-signing statement.
/// Always unusable input (exit 2): the input is malformed, nothing was checked.
public struct SignatureFormatError: FileReasonError, Equatable {
    /// What is wrong with the signature file.
    public enum Problem: Sendable, Equatable {
        /// The file could not be read (`reason` from the file system).
        case unreadable(reason: String)
        /// Not a Sigstore bundle's JSON (`detail`: where decoding stopped).
        case notABundle(detail: String)
        /// A bundle `mediaType` other than v0.3.
        case unsupportedMediaType(String)
        /// A DSSE `payloadType` other than in-toto.
        case unsupportedPayloadType(String)
        /// The envelope has no signature.
        case noSignature
        /// The signature is not base64.
        case signatureNotBase64
        /// The payload is not base64.
        case payloadNotBase64
        /// The payload is not an in-toto statement (`detail`: where decoding stopped).
        case payloadNotStatement(detail: String)
        /// A statement `_type` other than in-toto Statement v1.
        case unsupportedStatementType(String)
        /// A `predicateType` other than model-signing v1.0.
        case unsupportedPredicateType(String)
        /// Not exactly one subject with a sha256 digest.
        case subjectNotSingle
        /// A `hash_type` other than sha256.
        case unsupportedHashType(String)
        /// The shards method without a positive `shard_size`.
        case missingShardSize
        /// A serialization method other than files or shards.
        case unsupportedMethod(String)
        /// A resource digest that is not 64 hex digits.
        case malformedResourceDigest(resource: String)
        /// A resource algorithm other than sha256 or sha256-sharded-N.
        case unsupportedResourceAlgorithm(resource: String, algorithm: String)
        /// A resource name the method cannot have produced (e.g. a bad shard name).
        case malformedResourceName(resource: String)
        /// A resource listed twice.
        case duplicateResource(resource: String)
        /// The subject digest is not the root digest of the resources.
        case subjectDigestMismatch
    }

    /// The signature file (or a label such as `<signature>` when parsed from memory).
    public let file: String
    /// What is wrong with it.
    public let problem: Problem

    /// Describes a malformed signature.
    public init(path: String, problem: Problem) {
        self.file = path
        self.problem = problem
    }

    public var category: FailureCategory { .invalidInput }

    /// `signature.…`, one per problem.
    public var code: String {
        switch problem {
        case .unreadable: return "signature.unreadable"
        case .notABundle: return "signature.not-a-bundle"
        case .unsupportedMediaType: return "signature.unsupported-media-type"
        case .unsupportedPayloadType: return "signature.unsupported-payload-type"
        case .noSignature: return "signature.no-signature"
        case .signatureNotBase64: return "signature.signature-not-base64"
        case .payloadNotBase64: return "signature.payload-not-base64"
        case .payloadNotStatement: return "signature.payload-not-statement"
        case .unsupportedStatementType: return "signature.unsupported-statement-type"
        case .unsupportedPredicateType: return "signature.unsupported-predicate-type"
        case .subjectNotSingle: return "signature.subject-not-single"
        case .unsupportedHashType: return "signature.unsupported-hash-type"
        case .missingShardSize: return "signature.missing-shard-size"
        case .unsupportedMethod: return "signature.unsupported-method"
        case .malformedResourceDigest: return "signature.malformed-resource-digest"
        case .unsupportedResourceAlgorithm: return "signature.unsupported-resource-algorithm"
        case .malformedResourceName: return "signature.malformed-resource-name"
        case .duplicateResource: return "signature.duplicate-resource"
        case .subjectDigestMismatch: return "signature.subject-digest-mismatch"
        }
    }

    /// What is wrong, for a person (without the path).
    public var reason: String {
        switch problem {
        case let .unreadable(reason): return "cannot read the signature: \(reason)"
        case let .notABundle(detail): return "not a Sigstore bundle: \(detail)"
        case let .unsupportedMediaType(type): return "unsupported bundle mediaType \"\(type)\" (expected \(SignatureBundle.mediaTypeV03))"
        case let .unsupportedPayloadType(type): return "unsupported DSSE payloadType \"\(type)\" (expected \(DSSEEnvelope.inTotoPayloadType))"
        case .noSignature: return "the DSSE envelope has no signature"
        case .signatureNotBase64: return "the signature is not valid base64"
        case .payloadNotBase64: return "the DSSE payload is not valid base64"
        case let .payloadNotStatement(detail): return "the signed payload is not an in-toto statement: \(detail)"
        case let .unsupportedStatementType(type): return "unsupported statement _type \"\(type)\""
        case let .unsupportedPredicateType(type): return "unsupported predicateType \"\(type)\" (expected \(InTotoStatement.predicateType))"
        case .subjectNotSingle: return "the statement must have exactly one subject with a sha256 digest"
        case let .unsupportedHashType(type): return "unsupported hash_type \"\(type)\" (only sha256 is supported)"
        case .missingShardSize: return "the shards method needs a positive shard_size"
        case let .unsupportedMethod(method): return "unsupported serialization method \"\(method)\""
        case let .malformedResourceDigest(name): return "resource \"\(name)\" has a digest that is not 64 hex digits"
        case let .unsupportedResourceAlgorithm(name, algorithm): return "resource \"\(name)\" uses unsupported algorithm \"\(algorithm)\""
        case let .malformedResourceName(name): return "malformed resource name \"\(name)\""
        case let .duplicateResource(name): return "resource \"\(name)\" is listed twice"
        case .subjectDigestMismatch: return "the statement's subject digest does not match its resources"
        }
    }
}

/// A model that cannot be serialized or a signing request that cannot be
/// met: missing or unreadable files, paths outside the model, a model that
/// changed while it was read.
public struct ModelContentError: FileReasonError, Equatable {
    /// What is wrong.
    public enum Problem: Sendable, Equatable {
        /// The shards method with a shard size below one byte.
        case shardSizeTooSmall(Int64)
        /// An ignore path (or a file to verify) that is not relative to the model or leaves it.
        case pathOutsideModel
        /// Files were added, removed or renamed while the model was being signed.
        case changedWhileSigning
        /// A precomputed digest that is not 32 bytes (`count`: its length).
        case digestLength(Int)
        /// Reading the file failed (`reason` from the system).
        case readFailed(reason: String)
        /// The file became shorter while it was being hashed.
        case shrankWhileHashing
    }

    /// The file or directory involved.
    public let file: String
    /// What is wrong.
    public let problem: Problem
    /// Unusable input (exit 2) when signing; a model that changed under the
    /// verifier is a failed check (exit 1), because it is not what was signed.
    public let category: FailureCategory

    /// Describes a model problem.
    public init(path: String, problem: Problem, category: FailureCategory = .invalidInput) {
        self.file = path
        self.problem = problem
        self.category = category
    }

    /// `model.…`, one per problem.
    public var code: String {
        switch problem {
        case .shardSizeTooSmall: return "model.shard-size-too-small"
        case .pathOutsideModel: return "model.path-outside-model"
        case .changedWhileSigning: return "model.changed-while-signing"
        case .digestLength: return "model.digest-length"
        case .readFailed: return "model.read-failed"
        case .shrankWhileHashing: return "model.shrank-while-hashing"
        }
    }

    /// What is wrong, for a person (without the path).
    public var reason: String {
        switch problem {
        case let .shardSizeTooSmall(size): return "the shard size must be at least 1 byte (got \(size))"
        case .pathOutsideModel: return "the path must be relative to the model and stay inside it"
        case .changedWhileSigning:
            return "files were added, removed or renamed while the model was being signed; sign again once the model is complete"
        case let .digestLength(count): return "a SHA-256 digest is 32 bytes, not \(count)"
        case let .readFailed(reason): return "read failed: \(reason)"
        case .shrankWhileHashing: return "the file became shorter while it was being hashed"
        }
    }
}
