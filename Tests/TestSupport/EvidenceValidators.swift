/// Validators of release evidence, written against the standards' own Python
/// libraries (cyclonedx-python-lib, in-toto-attestation), for the tests of
/// more than one target.
public enum EvidenceValidators {
    /// Python (pinned environment): validates the CycloneDX 1.6 JSON file argv[1]
    /// with cyclonedx-python-lib's strict validator; prints "valid" or the error, exit 1.
    public static let cycloneDX = """
    import sys
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1], encoding="utf-8").read())
    if error is not None:
        print(str(error.data.message if hasattr(error.data, "message") else error)[:2000])
        sys.exit(1)
    print("valid")
    """

    /// Python (pinned environment): checks the DSSE envelope argv[1] holds an
    /// in-toto v1 statement with a SLSA provenance v1 predicate (unknown fields
    /// refused); prints the subjects as JSON [[name, sha256], ...].
    public static let provenance = """
    import base64, json, sys
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    envelope = json.load(open(sys.argv[1], encoding="utf-8"))
    assert envelope["payloadType"] == "application/vnd.in-toto+json", envelope["payloadType"]
    payload = base64.b64decode(envelope["payload"], validate=True)
    statement = json_format.Parse(payload, statement_pb2.Statement())   # unknown fields refused
    Statement.copy_from_pb(statement).validate()
    assert statement.predicate_type == "https://slsa.dev/provenance/v1", statement.predicate_type
    predicate = json.loads(payload)["predicate"]
    provenance = json_format.ParseDict(predicate, provenance_pb2.Provenance())   # unknown fields refused
    assert provenance.build_definition.build_type, "buildType"
    assert provenance.run_details.builder.id, "builder.id"
    print(json.dumps(sorted([s.name, s.digest["sha256"]] for s in statement.subject)))
    """
}
