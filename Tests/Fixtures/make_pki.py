"""Makes the test PKI for certificate signatures, with Python `cryptography`
(an implementation independent of modelsec's OpenSSL calls).

    python make_pki.py OUTDIR

Writes PEM files: root.pem, other-root.pem, intermediate.pem, and leaves with
their private keys (leaf-*.pem, leaf-*.key): good (P-256), p384, expired,
future, no-digital-signature, server-auth-only, wrong-san, oidc (with Fulcio's OIDC issuer extension), revoked, other-root
(chains to other-root through its own intermediate), plus crl.pem (revoking
leaf-revoked) from the intermediate, and chain.pem (the intermediate alone).
"""
import datetime
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
day = datetime.timedelta(days=1)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "modelsec tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def write(path, data):
    (out / path).write_bytes(data)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ca(cn, issuer_cert=None, issuer_key=None, path_length=None):
    key = ec.generate_private_key(ec.SECP384R1())
    builder = (x509.CertificateBuilder()
               .subject_name(name(cn))
               .issuer_name(issuer_cert.subject if issuer_cert else name(cn))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - 90 * day)
               .not_valid_after(now + 3650 * day)
               .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA384())
    return cert, key


def leaf(tag, issuer_cert, issuer_key, curve=ec.SECP256R1(), before=None, after=None, digital_signature=True,
         eku=(ExtendedKeyUsageOID.CODE_SIGNING,), san="https://ci.example.com/pipelines/release", oidc_issuer=None):
    key = ec.generate_private_key(curve)
    builder = (x509.CertificateBuilder()
               .subject_name(name(f"release signer {tag}"))
               .issuer_name(issuer_cert.subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(before or now - day)
               .not_valid_after(after or now + 365 * day)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=digital_signature, content_commitment=False,
                                            key_encipherment=not digital_signature, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=False, crl_sign=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(san)]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if oidc_issuer:
        # Fulcio's OIDC issuer (v2): 1.3.6.1.4.1.57264.1.8, a DER UTF8String.
        value = oidc_issuer.encode()
        builder = builder.add_extension(x509.UnrecognizedExtension(
            x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), bytes([0x0C, len(value)]) + value), critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    write(f"leaf-{tag}.pem", pem(cert))
    write(f"leaf-{tag}.key", key_pem(key))
    return cert


root, root_key = ca("modelsec test root")
inter, inter_key = ca("modelsec test intermediate", root, root_key, path_length=0)
other_root, other_root_key = ca("another root")
other_inter, other_inter_key = ca("another intermediate", other_root, other_root_key, path_length=0)
write("root.pem", pem(root))
write("other-root.pem", pem(other_root))
write("intermediate.pem", pem(inter))
write("chain.pem", pem(inter))
write("other-chain.pem", pem(other_inter))

leaf("good", inter, inter_key)
leaf("p384", inter, inter_key, curve=ec.SECP384R1())
leaf("p521", inter, inter_key, curve=ec.SECP521R1())
leaf("expired", inter, inter_key, before=now - 60 * day, after=now - 30 * day)
leaf("future", inter, inter_key, before=now + 30 * day, after=now + 60 * day)
leaf("no-digital-signature", inter, inter_key, digital_signature=False, eku=())
leaf("server-auth-only", inter, inter_key, eku=(ExtendedKeyUsageOID.SERVER_AUTH,))
leaf("wrong-san", inter, inter_key, san="https://ci.example.com/pipelines/someone-else")
leaf("oidc", inter, inter_key, oidc_issuer="https://token.actions.githubusercontent.com")
revoked = leaf("revoked", inter, inter_key)
leaf("other-root", other_inter, other_inter_key)

crl = (x509.CertificateRevocationListBuilder()
       .issuer_name(inter.subject)
       .last_update(now - day)
       .next_update(now + 30 * day)
       .add_revoked_certificate(x509.RevokedCertificateBuilder()
                                .serial_number(revoked.serial_number)
                                .revocation_date(now - day).build())
       .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()), critical=False)
       .sign(inter_key, hashes.SHA384()))
write("crl.pem", crl.public_bytes(serialization.Encoding.PEM))
