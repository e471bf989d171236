import Foundation

extension TestSupport {
    /// A fresh test PKI (root, intermediate, leaves good and bad, a CRL) made
    /// by Tests/Fixtures/make_pki.py with Python `cryptography`, in a new
    /// temporary folder. See that script for the file names.
    public static func makePKI() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pki-\(UUID().uuidString)")
        let script = repositoryRoot.appendingPathComponent("Tests/Fixtures/make_pki.py").path
        let r = try run(try python(), [script, dir.path])
        guard r.status == 0 else { throw VenvError(message: "make_pki.py failed: \(r.stderrText)") }
        return dir
    }
}
