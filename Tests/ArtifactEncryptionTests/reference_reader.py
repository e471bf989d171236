#!/usr/bin/env python3
"""An independent reader for the modelsec encrypted file format, version 1,
written from docs/encryption-format.md alone, using the `cryptography` package.

Usage:
  reference_reader.py INPUT OUTPUT [--identity X25519.pem]... [--key-file KEY]... [--passphrase-file FILE]

At least one identity. Stanzas are tried in header order, each with every
identity of its type; the first that opens gives the file key.

Exit status 0 and OUTPUT written on success; 1 on authentication failure or
when no identity opens the file, 2 on malformed input (a message on stderr).
"""
import argparse
import base64
import hmac
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import hmac as chmac
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"MSECENC\x00"
BODY_SIZES = {1: 80, 2: 64, 3: 72}


class Malformed(Exception):
    pass


class AuthFailure(Exception):
    pass


def hkdf(ikm, salt, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def unwrap(wrapping_key, wrapped):
    try:
        return AESGCM(wrapping_key).decrypt(b"\x00" * 12, wrapped, None)
    except InvalidTag:
        return None


def parse_header(data):
    if len(data) < 47 or data[:8] != MAGIC:
        raise Malformed("bad magic")
    if data[8] != 1:
        raise Malformed("unsupported version %d" % data[8])
    if data[9] != 0:
        raise Malformed("unknown flags")
    (chunk_size,) = struct.unpack(">I", data[10:14])
    if chunk_size < 4096 or chunk_size > 1048576 or chunk_size & (chunk_size - 1):
        raise Malformed("chunk size out of range")
    salt = data[14:46]
    count = data[46]
    if not 1 <= count <= 32:
        raise Malformed("recipient count out of range")
    pos = 47
    stanzas = []
    for _ in range(count):
        if pos + 3 > len(data):
            raise Malformed("truncated header")
        kind = data[pos]
        (length,) = struct.unpack(">H", data[pos + 1:pos + 3])
        if kind not in BODY_SIZES or BODY_SIZES[kind] != length:
            raise Malformed("bad stanza")
        body = data[pos + 3:pos + 3 + length]
        if len(body) != length:
            raise Malformed("truncated header")
        if kind == 3:
            t, m = struct.unpack(">II", body[16:24])
            if not (1 <= t <= 16 and 8 <= m <= 1048576):
                raise Malformed("Argon2id parameters out of range")
        stanzas.append((kind, body))
        pos += 3 + length
    if pos + 32 > 4096:
        raise Malformed("header too large")
    if count > 1 and any(k == 3 for k, _ in stanzas):
        raise Malformed("passphrase stanza not alone")
    if pos + 32 > len(data):
        raise Malformed("truncated header")
    return chunk_size, salt, stanzas, data[:pos], data[pos:pos + 32], pos + 32


def open_stanza(kind, body, secret):
    """The file key if `secret` (an identity of the stanza's type) opens it, else None."""
    if kind == 1:
        eph = body[:32]
        try:
            shared = secret.exchange(X25519PublicKey.from_public_bytes(eph))
        except ValueError:
            # `cryptography` refuses an all-zero shared secret itself.
            raise Malformed("low-order ephemeral key")
        if shared == b"\x00" * 32:
            raise Malformed("low-order ephemeral key")
        mine = secret.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return unwrap(hkdf(shared, eph + mine, b"modelsec-encryption/v1/x25519"), body[32:])
    if kind == 2:
        return unwrap(hkdf(secret, body[:16], b"modelsec-encryption/v1/symmetric-key"), body[16:])
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
    t, m = struct.unpack(">II", body[16:24])
    wrapping = Argon2id(salt=body[:16], length=32, iterations=t, lanes=1, memory_cost=m).derive(secret)
    return unwrap(wrapping, body[24:])


def find_file_key(stanzas, identities):
    for kind, body in stanzas:
        for identity_kind, secret in identities:
            if identity_kind != kind:
                continue
            key = open_stanza(kind, body, secret)
            if key is not None:
                return key
    raise AuthFailure("no identity matches")


def decrypt(data, identities):
    chunk_size, salt, stanzas, authenticated, mac, header_size = parse_header(data)
    file_key = find_file_key(stanzas, identities)
    header_key = hkdf(file_key, salt, b"modelsec-encryption/v1/header")
    h = chmac.HMAC(header_key, hashes.SHA256())
    h.update(authenticated)
    if not hmac.compare_digest(h.finalize(), mac):
        raise AuthFailure("header MAC mismatch")
    aead = AESGCM(hkdf(file_key, salt, b"modelsec-encryption/v1/payload"))
    payload = memoryview(data)[header_size:]
    sealed = chunk_size + 16
    n = (len(payload) + sealed - 1) // sealed
    if n == 0:
        raise AuthFailure("no final chunk")
    last = len(payload) - (n - 1) * sealed
    if last < 16 or (n > 1 and last == 16):
        raise AuthFailure("truncated or extended")
    out = bytearray()
    for i in range(n):
        chunk = bytes(payload[i * sealed:min((i + 1) * sealed, len(payload))])
        nonce = i.to_bytes(11, "big") + (b"\x01" if i == n - 1 else b"\x00")
        try:
            out += aead.decrypt(nonce, chunk, None)
        except InvalidTag:
            raise AuthFailure("chunk %d failed" % i)
    return bytes(out)


def load_identities(args):
    identities = []
    for path in args.identity:
        with open(path, "rb") as f:
            identities.append((1, serialization.load_pem_private_key(f.read(), password=None)))
    for path in args.key_file:
        text = open(path).read()
        b64 = "".join(l for l in text.splitlines() if l and not l.startswith("-----"))
        key = base64.b64decode(b64)
        assert len(key) == 32
        identities.append((2, key))
    if args.passphrase_file:
        line = open(args.passphrase_file, "rb").read().split(b"\n")[0].rstrip(b"\r")
        identities.append((3, line))
    return identities


def main():
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--identity", action="append", default=[])
    p.add_argument("--key-file", action="append", default=[])
    p.add_argument("--passphrase-file")
    args = p.parse_args()
    identities = load_identities(args)
    if not identities:
        p.error("give at least one --identity, --key-file or --passphrase-file")
    data = open(args.input, "rb").read()
    try:
        plaintext = decrypt(data, identities)
    except Malformed as e:
        print("malformed: %s" % e, file=sys.stderr)
        return 2
    except AuthFailure as e:
        print("authentication failed: %s" % e, file=sys.stderr)
        return 1
    with open(args.output, "wb") as f:
        f.write(plaintext)
    return 0


if __name__ == "__main__":
    sys.exit(main())
