"""Validates OpenSSF Model Signing bundles against the OMS v1.0 JSON schemas
(Tests/Vectors/oms-v1.0), as the specification's oms-validate does.

    python validate_oms.py [--method key|certificate] BUNDLE...

Prints one line per bundle, "ok PATH" or "invalid PATH: reason", and exits 1
if any bundle is invalid.
"""
import argparse
import base64
import json
import sys
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).resolve().parent.parent / "Vectors" / "oms-v1.0" / "schemas"


def validators():
    schemas = {f.name: json.loads(f.read_text()) for f in SCHEMAS.glob("*.schema.json")}
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s, default_specification=DRAFT202012)) for s in schemas.values())
    return (Draft202012Validator(schemas["bundle.schema.json"], registry=registry),
            Draft202012Validator(schemas["statement.schema.json"], registry=registry))


def check(path, method, bundle_v, statement_v):
    bundle = json.loads(Path(path).read_text())
    bundle_v.validate(bundle)
    raw = bundle["dsseEnvelope"]["payload"]
    statement = json.loads(base64.b64decode(raw + "=" * (-len(raw) % 4)))
    statement_v.validate(statement)
    vm = bundle.get("verificationMaterial", {})
    if method == "key":
        assert "publicKey" in vm and "x509CertificateChain" not in vm and "certificate" not in vm, "not a key-method bundle"
    elif method == "certificate":
        assert "x509CertificateChain" in vm and "certificate" not in vm, "not a certificate-method bundle"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", choices=["key", "certificate"])
    parser.add_argument("bundles", nargs="+")
    args = parser.parse_args()
    bundle_v, statement_v = validators()
    failed = False
    for path in args.bundles:
        try:
            check(path, args.method, bundle_v, statement_v)
            print(f"ok {path}")
        except Exception as error:  # every failure is a verdict, with its reason
            failed = True
            reason = getattr(error, "message", None) or str(error) or type(error).__name__
            print(f"invalid {path}: {reason.splitlines()[0][:200]}")
    sys.exit(1 if failed else 0)


main()
