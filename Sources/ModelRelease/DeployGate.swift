import AccessTokens
import ArtifactEncryption
import Foundation
import ModelSecCrypto
import ModelSecIO
import ModelScanner
import ModelSecKeys
import TransparencyLog

/// What the deploy gate needs.
public struct DeployRequest: Sendable {
    /// The release directory (as made by `release create`).
    public var releaseDirectory: String
    /// The keys whose signatures are trusted.
    public var trustedKeys: TrustedKeys
    /// What opens the artifacts: an X25519 private key and/or a symmetric key.
    public var identities: [any Identity]
    /// Where the checked, decrypted model goes (must not exist, or be empty).
    public var output: String
    /// The deploy token check, if a token is required.
    public var token: DeployTokenCheck?
    /// The transparency-log check, if the release must be in a log.
    public var transparencyLog: TransparencyLogCheck?
    /// The policy step, if a policy is given (see ``DeployPolicy``).
    public var policy: DeployPolicy?
    /// Where progress goes; nil: the handler bound in
    /// `ProgressReporting.handler`, if any (the library never prints).
    public var progress: ProgressHandler?
    /// `false` silences progress even when a handler is bound (the same as
    /// `progress = ProgressReporting.silent`); kept for existing callers.
    public var showProgress: Bool?

    /// A request without token or policy.
    public init(releaseDirectory: String, trustedKeys: TrustedKeys, identities: [any Identity], output: String) {
        self.releaseDirectory = releaseDirectory
        self.trustedKeys = trustedKeys
        self.identities = identities
        self.output = output
    }
}

/// A deploy token and how to verify it. The gate requires the scope
/// `model:deploy:NAME@VERSION` of the release being deployed.
public struct DeployTokenCheck: Sendable {
    /// The compact JWS.
    public var token: String
    /// The issuer's keys.
    public var keys: [VerificationKey]
    /// The exact `iss` required.
    public var issuer: String
    /// The audience `aud` must contain.
    public var audience: String
    /// Clock skew tolerated.
    public var leeway: TokenDuration
    /// Revoked token ids.
    public var revocations: RevocationList
    /// The time to check against.
    public var now: Date
    /// A check run once the token has passed every local check (the CLI's
    /// RFC 7662 introspection against the token service): a
    /// `TokenRejection` it throws fails the token step; any other error is
    /// thrown by ``DeployGate/run(_:)`` (the check itself could not run).
    public var online: (@Sendable (_ token: String, _ claims: AccessTokenClaims) throws -> Void)?

    /// A token check.
    public init(token: String, keys: [VerificationKey], issuer: String, audience: String,
                leeway: TokenDuration = TokenDuration(seconds: 30), revocations: RevocationList = RevocationList(), now: Date = Date()) {
        self.token = token
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.revocations = revocations
        self.now = now
    }
}

/// The policy step: judges an authentic release (its directory and manifest)
/// together with the gate's own scan of the decrypted plaintext, and says
/// whether it may be deployed, and why. Policies live in another module
/// (which depends on this one), so the caller supplies the step.
public struct DeployPolicy: Sendable {
    /// The verdict.
    public struct Verdict: Sendable {
        /// Whether the release may be deployed.
        public let passed: Bool
        /// What the policy found.
        public let detail: String
        /// A verdict.
        public init(passed: Bool, detail: String) {
            self.passed = passed
            self.detail = detail
        }
    }

    /// Judges the authentic release. The second argument is the gate's fresh
    /// scan of the plaintext about to be installed: judge findings from it,
    /// not from the scan recorded in release.json.
    public let evaluate: @Sendable (AuthenticRelease, ReleaseManifest.ScanResult) throws -> Verdict

    /// A policy step.
    public init(evaluate: @escaping @Sendable (AuthenticRelease, ReleaseManifest.ScanResult) throws -> Verdict) { self.evaluate = evaluate }
}

/// The deploy gate: checks a release in order (signature, release.json, token,
/// decryption with plaintext digests, a fresh scan of the plaintext, policy
/// over that scan) and only then puts the model in
/// place with one rename. On any failure nothing is written to the output
/// (decryption happens in a temporary directory beside it, removed on
/// failure) and the report names the step that failed.
///
/// ```swift
/// var request = DeployRequest(releaseDirectory: "bert-1.0.0.release",
///                             trustedKeys: try TrustedKeys(directory: "trusted"),
///                             identities: [try .load(privateKeyFile: "deploy.pem")],
///                             output: "/models/bert")
/// let report = try DeployGate.run(request)
/// if !report.deployed { print(report.summary) }
/// ```
public enum DeployGate {
    /// Runs the gate. Throws (exit code 2) only for unusable arguments: a
    /// release directory that does not exist, an output that exists and is
    /// not empty. Every check failure is in the returned report.
    public static func run(_ request: DeployRequest) throws -> DeployReport {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: request.releaseDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ReleaseInputError(path: request.releaseDirectory, reason: "is not a release directory (it does not exist or is not a directory)")
        }
        guard !request.identities.isEmpty else {
            throw ReleaseInputError(path: request.releaseDirectory, reason: "no identity or key file to decrypt the release with")
        }
        let staging = try StagingDirectory(destination: request.output)
        var run = Run(request: request)
        do { try run.execute(staging: staging) } catch {
            staging.abort()   // the gate itself could not run a check (an online token check): nothing is deployed
            throw error
        }
        if !run.deployed { staging.abort() }
        return run.report
    }

    /// The state of one gate run.
    struct Run {
        let request: DeployRequest
        var steps: [DeployStep] = []
        var release: String?
        var signerKeyID: String?
        var freshScan: ReleaseManifest.ScanResult?
        var deployed = false

        init(request: DeployRequest) { self.request = request }

        var report: DeployReport {
            var all = steps
            for name in DeployStepName.allCases where !all.contains(where: { $0.name == name }) {
                all.append(DeployStep(name: name, status: .notRun, detail: "an earlier step failed"))
            }
            return DeployReport(releaseDirectory: request.releaseDirectory, output: request.output, release: release,
                                signerKeyID: signerKeyID, steps: all, deployed: deployed, scan: freshScan)
        }

        mutating func pass(_ name: DeployStepName, _ detail: String) { steps.append(DeployStep(name: name, status: .passed, detail: detail)) }
        mutating func fail(_ name: DeployStepName, _ detail: String) { steps.append(DeployStep(name: name, status: .failed, detail: detail)) }
        mutating func skip(_ name: DeployStepName, _ detail: String) { steps.append(DeployStep(name: name, status: .skipped, detail: detail)) }

        mutating func execute(staging: StagingDirectory) throws {
            // 1-2: signature and release.json.
            let authentic: AuthenticRelease
            switch ReleaseAuthentication.check(directory: request.releaseDirectory, trustedKeys: request.trustedKeys) {
            case let .rejected(step, reason):
                if step == .manifest { pass(.signature, "verified with a trusted key") }
                return fail(step, reason)
            case let .authentic(value):
                authentic = value
            }
            let manifest = authentic.manifest
            signerKeyID = authentic.signerKeyID
            pass(.signature, "signed by trusted key \(authentic.signerKeyID)")
            release = "\(manifest.name)@\(manifest.version)"
            pass(.manifest, "release.json matches the signature: \(manifest.name)@\(manifest.version), \(manifest.artifacts.count) file\(manifest.artifacts.count == 1 ? "" : "s")")

            // 3: the release is in the transparency log.
            if let check = request.transparencyLog {
                do {
                    let (entry, index, checkpoint) = try ReleaseTransparency.verify(authentic, against: check)
                    var detail = "\(entry.release) is entry \(index) of \(checkpoint.checkpoint.origin) (tree size \(checkpoint.checkpoint.size))"
                    let configured = check.witnesses.count + check.witnessPublicKeys.count
                    if configured > 0 {
                        let known = try check.witnesses + check.witnessPublicKeys.compactMap { try ReleaseTransparency.witness($0, in: checkpoint.note) }
                        let cosigners = try checkpoint.cosignerCount(known)
                        detail += ", cosigned by \(cosigners) of \(configured) trusted witness(es), \(check.requiredWitnesses) required"
                    }
                    pass(.log, detail)
                } catch {
                    return fail(.log, "\(error)")
                }
            } else {
                skip(.log, "no log key given")
            }

            // 4: token.
            if let check = request.token {
                let scope = ReleaseIdentity.deployScope(name: manifest.name, version: manifest.version)
                let verified: VerifiedAccessToken
                do {
                    let verifier = try AccessTokenVerifier(keys: check.keys, issuer: check.issuer, audience: check.audience, leeway: check.leeway,
                                                           revocations: check.revocations, requiredScopes: [try ModelScope(parsing: scope)])
                    verified = try verifier.verify(check.token, now: check.now)
                } catch let rejection as TokenRejection {
                    if case .missingScope = rejection { return fail(.token, rejection.reason) }   // it names the scope already
                    return fail(.token, "\(rejection.reason) (required scope \(scope))")
                } catch {
                    return fail(.token, "\(error)")
                }
                // The online check's refusal fails the step; any other error
                // (the service unreachable, the gate's own credentials refused)
                // is the gate's configuration, thrown to the caller.
                do {
                    try check.online?(check.token, verified.claims)
                } catch let rejection as TokenRejection {
                    return fail(.token, "\(rejection.reason) (the token service reports it inactive)")
                }
                pass(.token, "token \(verified.claims.tokenID) for \(verified.claims.subject) grants \(scope)")
            } else {
                skip(.token, "no token given")
            }

            // 5: decrypt every artifact and check its plaintext.
            do {
                let bytes = try decryptAll(manifest, staging: staging)
                pass(.decrypt, "\(manifest.artifacts.count) file\(manifest.artifacts.count == 1 ? "" : "s") (\(ByteCountFormatting.string(Int64(bytes)))) decrypted; sizes and SHA-256 digests match the signed manifest")
            } catch let failure as StepFailure {
                return fail(.decrypt, failure.reason)
            } catch {
                return fail(.decrypt, "\(error)")
            }

            // 6: scan what is about to be installed; the releaser's record
            // must not hide anything the plaintext holds.
            let fresh: ReleaseManifest.ScanResult
            do {
                fresh = try scanStaged(staging)
            } catch {
                // The gate wrote these files itself: not being able to walk them is a failure, never a pass.
                return fail(.scan, "cannot walk the decrypted files to scan them: \(error)")
            }
            freshScan = fresh
            if let recorded = manifest.scan {
                let hidden = fresh.findingsNotIn(recorded)
                guard hidden.isEmpty else {
                    let first = hidden[0]
                    return fail(.scan, "release.json records \(recorded.severityCounts); the plaintext has \(fresh.severityCounts), "
                        + "including \(ReleaseManifest.ScanResult.severityCounts(hidden)) not recorded (first: \(first.path): \(first.severity) \(first.kind)\(first.global.map { " " + $0 } ?? ""))")
                }
                pass(.scan, "\(fresh.scannedFiles) file\(fresh.scannedFiles == 1 ? "" : "s") scanned: \(fresh.severityCounts), as release.json records")
            } else {
                pass(.scan, "\(fresh.scannedFiles) file\(fresh.scannedFiles == 1 ? "" : "s") scanned: \(fresh.severityCounts) (release.json records no scan)")
            }

            // 7: policy, over the fresh scan.
            if let policy = request.policy {
                do {
                    let verdict = try policy.evaluate(authentic, fresh)
                    guard verdict.passed else { return fail(.policy, verdict.detail) }
                    pass(.policy, verdict.detail)
                } catch {
                    return fail(.policy, "\(error)")
                }
            } else {
                skip(.policy, "no policy given")
            }

            // 8: provenance and the rename.
            do {
                try staging.write(authentic.manifestBytes, to: ModelPath(ReleaseLayout.manifestResourceName))
                try staging.write(authentic.signatureBytes, to: ModelPath(ReleaseLayout.deployedSignaturePath))
                for file in authentic.evidence {
                    try staging.write(file.bytes, to: ModelPath(ReleaseLayout.evidenceResourceName(file.entry.path)))
                }
                try staging.commit()
            } catch {
                return fail(.install, "\(error)")
            }
            deployed = true
            pass(.install, "\(request.output) is in place")
        }

        struct StepFailure: Error { let reason: String }

        /// Decrypts each artifact into the staging directory, hashing the
        /// authenticated plaintext as it is written; returns the bytes written.
        func decryptAll(_ manifest: ReleaseManifest, staging: StagingDirectory) throws -> UInt64 {
            let progress = ProgressReporter(label: "decrypting", totalBytes: Int64(clamping: manifest.totalSize),
                                            totalItems: manifest.artifacts.count,
                                            handler: request.showProgress == false ? ProgressReporting.silent : request.progress)
            defer { progress.finish() }
            let releaseDirectory = request.releaseDirectory, identities = request.identities
            try ParallelWork.forEach(count: manifest.artifacts.count) { index, _ in
                try Run.decrypt(manifest.artifacts[index], releaseDirectory: releaseDirectory, identities: identities,
                                staging: staging, progress: progress)
            }
            return manifest.totalSize
        }

        /// Scans the decrypted files in the staging directory, walked with
        /// the same walker as `release create` used, and files each finding
        /// under the artifact's release path.
        func scanStaged(_ staging: StagingDirectory) throws -> ReleaseManifest.ScanResult {
            let tree = try ModelTree.walk(staging.path)
            return ReleaseManifest.ScanResult(scan: ModelScanner.scan(tree: tree)) { $0.path }
        }

        /// Decrypts one artifact to `destination`, hashing the authenticated
        /// plaintext as it is written, and checks its size and digest.
        static func decrypt(_ artifact: ReleaseManifest.Artifact, releaseDirectory: String, identities: [any Identity],
                            staging: StagingDirectory, progress: ProgressReporter) throws {
            let encrypted = releaseDirectory + "/" + artifact.encryptedPath
            let source: FileDescriptorSource
            // Non-blocking and regular files only: a FIFO or device in place
            // of an artifact is refused instead of hanging the gate.
            do { source = try FileDescriptorSource(regularFileAt: encrypted) } catch let error as FileError {
                throw StepFailure(reason: "\(encrypted): \(error.reason)")
            }
            if let size = source.regularFileSize, size != artifact.encryptedSize {
                throw StepFailure(reason: "\(encrypted): is \(size) bytes, release.json records \(artifact.encryptedSize)")
            }
            // The manifest was checked on open; the descriptor-based creation checks again.
            guard let path = ModelPath.safeRelative(artifact.path) else {
                throw StepFailure(reason: "\(ReleaseManifest.quoted(artifact.path)): not a safe relative path")
            }
            let writer = try staging.create(path)
            var hasher = SHA2.SHA256.hasher()
            var written: UInt64 = 0
            do {
                let decryptor = try Decryptor(source: source, identities: identities)
                try decryptor.decrypt { bytes in
                    written += UInt64(bytes.count)
                    guard written <= artifact.size else {
                        throw StepFailure(reason: "\(encrypted): decrypts to more than the \(artifact.size) bytes release.json records")
                    }
                    hasher.update(bytes)
                    try writer.write(bytes)
                    progress.advance(bytes: Int64(bytes.count))
                }
            } catch let error as EncryptionError {
                throw StepFailure(reason: error.at(encrypted).description)
            }
            // On any failure the whole staging directory is removed.
            guard written == artifact.size else {
                throw StepFailure(reason: "\(encrypted): decrypts to \(written) bytes, release.json records \(artifact.size)")
            }
            guard let expected = Hex.decode(artifact.sha256), ConstantTime.equals(hasher.finalize().bytes, expected) else {
                throw StepFailure(reason: "\(artifact.path): the decrypted file's SHA-256 does not match the signed digest")
            }
            try writer.finish()
            progress.advance(items: 1)
        }
    }
}
