/// Which bill-of-materials documents `release create` writes.
public enum BOMFormat: String, Sendable, CaseIterable {
    /// `bom.cdx.json` only (the default).
    case cyclonedx
    /// `bom.spdx.json` only.
    case spdx
    /// Both.
    case both

    /// Whether the CycloneDX BOM is written.
    public var writesCycloneDX: Bool { self != .spdx }
    /// Whether the SPDX document is written.
    public var writesSPDX: Bool { self != .cyclonedx }
}

/// Makes a release's evidence files (docs/evidence.md) from what `release
/// create` knows once every file is hashed: the BOM document(s) and the signed provenance.
enum EvidenceFiles {
    /// The files, each with its release.json entry, in ``ReleaseLayout/evidenceFiles`` order.
    static func make(_ subject: EvidenceSubject, request: ReleaseRequest) throws -> [(entry: ReleaseManifest.EvidenceFile, bytes: [UInt8])] {
        var files: [(entry: ReleaseManifest.EvidenceFile, bytes: [UInt8])] = []
        func add(_ path: String, kind: String, mediaType: String, _ bytes: [UInt8]) {
            files.append((ReleaseManifest.EvidenceFile(path: path, kind: kind, mediaType: mediaType, bytes: bytes), bytes))
        }
        if request.bomFormat.writesCycloneDX {
            add(ReleaseLayout.cycloneDXFile, kind: CycloneDXBOM.kind, mediaType: CycloneDXBOM.mediaType, try CycloneDXBOM.encode(subject))
        }
        if request.bomFormat.writesSPDX {
            add(ReleaseLayout.spdxFile, kind: SPDXDocument.kind, mediaType: SPDXDocument.mediaType, try SPDXDocument.encode(subject))
        }
        add(ReleaseLayout.provenanceFile, kind: SLSAProvenance.kind, mediaType: SLSAProvenance.mediaType,
            try SLSAProvenance.encode(subject, build: request.provenance, signer: request.signingKey))
        return files
    }
}
