#!/usr/bin/env python3
"""Writes the test vectors of the modelsec encrypted file format, version 1
(docs/encryption-format.md): one JSON file per vector, in this folder. The
layout of a vector file is described in README.md beside this script.

Deterministic: every value that a real writer draws at random (file keys,
header salts, ephemeral X25519 keys, stanza salts, identities, plaintexts) is
taken from SHA-256 in counter mode over a fixed label, so running this again
writes byte-identical files. The files are built from the format
specification with the `cryptography` package, independently of modelsec's
Swift writer; modelsec's tests check that modelsec reads every one of them as
the vector says (Tests/ArtifactEncryptionTests/EncryptionVectorTests.swift).

  python3 generate.py            write the vectors and remove stale ones
  python3 generate.py --check    exit 1 if the files here differ from what
                                 would be written (nothing is written)

Needs `cryptography` 44 or later (for Argon2id).
"""
import argparse
import base64
import glob
import hashlib
import hmac
import json
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = "modelsec-encryption-vectors/1"
MAGIC = b"MSECENC\x00"
X25519_STANZA, SYMMETRIC_STANZA, PASSPHRASE_STANZA = 1, 2, 3
TYPE_NAMES = {X25519_STANZA: "x25519", SYMMETRIC_STANZA: "symmetric-key", PASSPHRASE_STANZA: "passphrase"}

# What a reader reports; the exit code is modelsec's (0 ok, 1 authentication, 2 malformed).
OK, MALFORMED, AUTHENTICATION, NO_IDENTITY = "ok", "malformed", "authentication-failed", "no-matching-identity"
EXIT_CODES = {OK: 0, MALFORMED: 2, AUTHENTICATION: 1, NO_IDENTITY: 1}

# Low-order X25519 points (their shared secret with any key is all zeros):
# u = 0, u = 1, a point of order 8, and u = 2^255 - 19 (a non-canonical encoding of 0).
LOW_ORDER_POINTS = {
    "zero": bytes(32),
    "one": bytes([1]) + bytes(31),
    "order-8": bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    "non-canonical-p": bytes([0xED]) + bytes([0xFF]) * 30 + bytes([0x7F]),
}


def det(label, count):
    """`count` deterministic bytes for `label`: SHA-256 in counter mode."""
    out = b""
    counter = 0
    while len(out) < count:
        out += hashlib.sha256(b"modelsec-encryption-vectors/v1\x00" + label.encode() + struct.pack(">I", counter)).digest()
        counter += 1
    return out[:count]


def hkdf(ikm, salt, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def wrap(wrapping_key, file_key):
    return AESGCM(wrapping_key).encrypt(bytes(12), file_key, None)


def pem(label, der):
    b64 = base64.b64encode(der).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)


# ---------------------------------------------------------------- identities

class X25519Identity:
    def __init__(self, name):
        self.secret = det("identity/%s/x25519" % name, 32)
        self.private = X25519PrivateKey.from_private_bytes(self.secret)
        self.public = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def json(self):
        text = self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode()
        return {"type": "x25519", "privateKeyHex": self.secret.hex(), "publicKeyHex": self.public.hex(),
                "privateKeyPem": text}


class SymmetricIdentity:
    def __init__(self, name):
        self.key = det("identity/%s/aes256" % name, 32)

    def json(self):
        return {"type": "symmetric-key", "keyHex": self.key.hex(), "keyFile": pem("MODELSEC AES-256 KEY", self.key)}


class PassphraseIdentity:
    def __init__(self, passphrase):
        self.passphrase = passphrase

    def json(self):
        return {"type": "passphrase", "passphraseHex": self.passphrase.hex(),
                "passphraseUtf8": self.passphrase.decode("utf-8")}


ALICE = X25519Identity("alice")
BOB = X25519Identity("bob")
CAROL = X25519Identity("carol")          # never a recipient
KMS = SymmetricIdentity("kms")
OTHER_KMS = SymmetricIdentity("other-kms")   # never a recipient
PASSPHRASE = PassphraseIdentity(b"correct horse battery staple")
# "pässwörd" with decomposed umlauts (NFD: a/o followed by U+0308), and its composed (NFC) twin.
PASSPHRASE_NFD = PassphraseIdentity("pa\u0308sswo\u0308rd".encode())
PASSPHRASE_NFC = PassphraseIdentity("p\u00e4ssw\u00f6rd".encode())
ARGON2_SMALL = (2, 64)      # passes, memory in KiB: small so vectors open fast


# ---------------------------------------------------------------- stanzas

def x25519_stanza(label, file_key, recipient):
    ephemeral = X25519PrivateKey.from_private_bytes(det(label + "/ephemeral", 32))
    e = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient.public))
    wrapping = hkdf(shared, e + recipient.public, b"modelsec-encryption/v1/x25519")
    return (X25519_STANZA, e + wrap(wrapping, file_key))


def low_order_x25519_stanza(point, file_key, recipient):
    """An X25519 stanza whose ephemeral key is a low-order point. The file key
    is wrapped under the key an all-zero shared secret gives, so a reader that
    forgets the all-zero check opens it instead of refusing it."""
    wrapping = hkdf(bytes(32), point + recipient.public, b"modelsec-encryption/v1/x25519")
    return (X25519_STANZA, point + wrap(wrapping, file_key))


def symmetric_stanza(label, file_key, identity):
    salt = det(label + "/symmetric-salt", 16)
    wrapping = hkdf(identity.key, salt, b"modelsec-encryption/v1/symmetric-key")
    return (SYMMETRIC_STANZA, salt + wrap(wrapping, file_key))


def passphrase_stanza(label, file_key, identity, passes, memory_kib):
    salt = det(label + "/argon2-salt", 16)
    wrapping = Argon2id(salt=salt, length=32, iterations=passes, lanes=1, memory_cost=memory_kib).derive(identity.passphrase)
    return (PASSPHRASE_STANZA, salt + struct.pack(">II", passes, memory_kib) + wrap(wrapping, file_key))


# ---------------------------------------------------------------- files

class File:
    """An encrypted file built from the specification, with the values a
    reader derives on the way (published for valid vectors to help debugging)."""

    def __init__(self, label, plaintext, stanzas, chunk_size=4096, chunks=None, version=1, flags=0,
                 declared_chunk_size=None, count=None, lengths=None, magic=MAGIC):
        """`stanzas` is a list of (type, body) or a function of the file key
        returning one. The header fields can be overridden (`version`, `flags`,
        `declared_chunk_size`, `count`, `lengths` of the stanza bodies, `magic`);
        the header MAC is always computed over the header as written, so only
        the overridden field itself can make a reader refuse the file. `chunks`
        replaces the STREAM chunk list: (counter, plaintext, last flag) triples."""
        self.file_key = det(label + "/file-key", 32)
        self.salt = det(label + "/header-salt", 32)
        self.stanzas = stanzas(self.file_key) if callable(stanzas) else stanzas
        self.chunk_size = chunk_size
        self.plaintext = plaintext
        header = magic + bytes([version, flags]) + struct.pack(">I", declared_chunk_size or chunk_size) + self.salt
        header += bytes([len(self.stanzas) if count is None else count])
        for index, (kind, body) in enumerate(self.stanzas):
            length = len(body) if lengths is None or lengths[index] is None else lengths[index]
            header += bytes([kind]) + struct.pack(">H", length) + body
        self.payload_key = hkdf(self.file_key, self.salt, b"modelsec-encryption/v1/payload")
        self.header_key = hkdf(self.file_key, self.salt, b"modelsec-encryption/v1/header")
        self.mac = hmac.new(self.header_key, header, hashlib.sha256).digest()
        self.header = header + self.mac
        if chunks is None:
            chunks = stream_chunks(plaintext, chunk_size)
        self.sealed = [seal_chunk(self.payload_key, counter, data, last) for counter, data, last in chunks]
        self.bytes = self.header + b"".join(self.sealed)

    def chunk_range(self, index):
        start = len(self.header) + sum(len(c) for c in self.sealed[:index])
        return start, start + len(self.sealed[index])

    def intermediates(self):
        return {"fileKeyHex": self.file_key.hex(), "payloadKeyHex": self.payload_key.hex(),
                "headerKeyHex": self.header_key.hex(), "headerMacHex": self.mac.hex()}


def stream_chunks(plaintext, chunk_size):
    """The chunks a correct writer makes: full chunks, then 1..C bytes (or one empty chunk)."""
    count = max(1, -(-len(plaintext) // chunk_size))
    return [(i, plaintext[i * chunk_size:(i + 1) * chunk_size], i == count - 1) for i in range(count)]


def seal_chunk(payload_key, counter, data, last):
    nonce = counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
    return AESGCM(payload_key).encrypt(nonce, data, None)


def flip(data, offset, bit=0x01):
    out = bytearray(data)
    out[offset] ^= bit
    return bytes(out)


# ---------------------------------------------------------------- vectors

def valid(name, description, file, identities):
    return {"name": name, "description": description, "ciphertextHex": file.bytes.hex(),
            "identities": [i.json() for i in identities],
            "expected": {"result": OK, "exitCode": 0, "plaintextHex": file.plaintext.hex(),
                         "plaintextSize": len(file.plaintext), "chunkSize": file.chunk_size,
                         "chunkCount": len(file.sealed), "headerSize": len(file.header),
                         "recipientTypes": [TYPE_NAMES[k] for k, _ in file.stanzas]},
            "intermediates": file.intermediates()}


def reject(name, description, data, identities, result):
    return {"name": name, "description": description, "ciphertextHex": data.hex(),
            "identities": [i.json() for i in identities],
            "expected": {"result": result, "exitCode": EXIT_CODES[result]}}


def text(label, size):
    return det(label + "/plaintext", size)


def build_vectors():
    v = []
    c = 4096

    # ---- valid files
    x25519_one = File("x25519", text("x25519", 1000), lambda k: [x25519_stanza("x25519/0", k, ALICE)])
    v.append(valid("valid-x25519", "One X25519 recipient, one chunk of 1000 bytes.", x25519_one, [ALICE]))

    symmetric = File("symmetric", text("symmetric", 3 * c + 123), lambda k: [symmetric_stanza("symmetric/0", k, KMS)])
    v.append(valid("valid-symmetric-key-multi-chunk",
                   "One aes256 key-file recipient; 3 full chunks of 4096 bytes and a final chunk of 123.", symmetric, [KMS]))

    passes, memory = ARGON2_SMALL
    passphrase = File("passphrase", text("passphrase", c + 1),
                      lambda k: [passphrase_stanza("passphrase/0", k, PASSPHRASE, passes, memory)])
    v.append(valid("valid-passphrase-argon2id",
                   "A passphrase recipient with Argon2id t=2, m=64 KiB (modelsec writes t=3, m=262144); "
                   "a full chunk and a final chunk of 1 byte.", passphrase, [PASSPHRASE]))

    minimum = File("passphrase-minimum", text("passphrase-minimum", 10),
                   lambda k: [passphrase_stanza("passphrase-minimum/0", k, PASSPHRASE, 1, 8)])
    v.append(valid("valid-passphrase-argon2id-minimum-cost",
                   "Argon2id at the smallest parameters a reader accepts: t=1, m=8 KiB.", minimum, [PASSPHRASE]))

    unicode_pw = File("passphrase-nfd", text("passphrase-nfd", 20),
                      lambda k: [passphrase_stanza("passphrase-nfd/0", k, PASSPHRASE_NFD, passes, memory)])
    v.append(valid("valid-passphrase-exact-bytes",
                   "The passphrase is \"p\u00e4ssw\u00f6rd\" in decomposed form (NFD): its bytes are used as they are, "
                   "with no Unicode normalisation.", unicode_pw, [PASSPHRASE_NFD]))

    empty = File("empty", b"", lambda k: [symmetric_stanza("empty/0", k, KMS)])
    v.append(valid("valid-empty-plaintext", "An empty plaintext: one empty final chunk (a 16-byte tag).", empty, [KMS]))

    exact = File("exact", text("exact", 2 * c), lambda k: [symmetric_stanza("exact/0", k, KMS)])
    v.append(valid("valid-exact-multiple-of-chunk-size",
                   "8192 bytes with 4096-byte chunks: two full chunks, the second flagged final; no empty chunk after it.",
                   exact, [KMS]))

    default = File("default-chunk", text("default-chunk", 65536 + 1), lambda k: [x25519_stanza("default-chunk/0", k, ALICE)],
                   chunk_size=65536)
    v.append(valid("valid-default-chunk-size",
                   "The default chunk size (65536): a full chunk and a final chunk of 1 byte.", default, [ALICE]))

    largest = File("largest-chunk", text("largest-chunk", 10), lambda k: [symmetric_stanza("largest-chunk/0", k, KMS)],
                   chunk_size=1048576)
    v.append(valid("valid-largest-chunk-size", "The largest chunk size (1048576) with a 10-byte plaintext.", largest, [KMS]))

    def multi_stanzas(k):
        return [x25519_stanza("multi/0", k, ALICE), x25519_stanza("multi/1", k, BOB), symmetric_stanza("multi/2", k, KMS)]
    multi = File("multi", text("multi", 5000), multi_stanzas)
    v.append(valid("valid-multi-recipient-second-x25519",
                   "Recipients alice (X25519), bob (X25519) and a key file; opened with bob's key.", multi, [BOB]))
    v.append(valid("valid-multi-recipient-symmetric-key",
                   "The same file as valid-multi-recipient-second-x25519, opened with the key file.", multi, [KMS]))
    v.append(valid("valid-several-identities",
                   "The same file, opened with three identities of which only the last can: identities that "
                   "match no stanza are skipped.", multi, [CAROL, OTHER_KMS, KMS]))

    twice = File("twice", text("twice", 300),
                 lambda k: [symmetric_stanza("twice/0", k, KMS), symmetric_stanza("twice/1", k, KMS)])
    v.append(valid("valid-same-recipient-twice",
                   "Two stanzas for the same key file (as `--key-file K --key-file K` writes): allowed.", twice, [KMS]))

    keys32 = [SymmetricIdentity("recipient-%d" % i) for i in range(32)]
    many = File("thirty-two", text("thirty-two", 64),
                lambda k: [symmetric_stanza("thirty-two/%d" % i, k, key) for i, key in enumerate(keys32)])
    v.append(valid("valid-thirty-two-recipients",
                   "The most recipients a file may have (32 key files); opened with the last one's key.", many, [keys32[-1]]))

    after = File("low-order-after", text("low-order-after", 100),
                 lambda k: [x25519_stanza("low-order-after/0", k, ALICE),
                            low_order_x25519_stanza(LOW_ORDER_POINTS["zero"], k, ALICE)])
    v.append(valid("valid-low-order-stanza-after-opening-stanza",
                   "The first stanza opens with alice's key; the second has a low-order ephemeral key. Stanzas are "
                   "tried in header order and the search stops at the first that opens, so the second is never examined.",
                   after, [ALICE]))

    untried = File("low-order-untried", text("low-order-untried", 100),
                   lambda k: [low_order_x25519_stanza(LOW_ORDER_POINTS["zero"], k, ALICE),
                              symmetric_stanza("low-order-untried/1", k, KMS)])
    v.append(valid("valid-low-order-stanza-not-tried",
                   "A low-order X25519 stanza before a key-file stanza, opened with the key file only: an X25519 "
                   "stanza is only examined with an X25519 identity, so it is never tried.", untried, [KMS]))

    # ---- malformed headers (exit 2). Header fields are altered before the
    # header MAC is computed, so the MAC is valid and only the field check refuses them.
    small = lambda k: [symmetric_stanza("small/0", k, KMS)]
    small_text = text("small", 32)
    base = File("small", small_text, small)
    header = len(base.header)

    v.append(reject("reject-empty-file", "Zero bytes.", b"", [KMS], MALFORMED))
    v.append(reject("reject-bad-magic", "The magic is `MSECENC` followed by 0x01 instead of a zero byte.",
                    File("small", small_text, small, magic=b"MSECENC\x01").bytes, [KMS], MALFORMED))
    v.append(reject("reject-unsupported-version", "Format version 2.",
                    File("small", small_text, small, version=2).bytes, [KMS], MALFORMED))
    v.append(reject("reject-nonzero-flags", "Header flags 0x01.",
                    File("small", small_text, small, flags=1).bytes, [KMS], MALFORMED))
    v.append(reject("reject-chunk-size-not-power-of-two",
                    "The header declares chunks of 4097 bytes (the chunks are sealed as 4096-byte chunks).",
                    File("small", small_text, small, declared_chunk_size=4097).bytes, [KMS], MALFORMED))
    v.append(reject("reject-chunk-size-too-small", "Chunk size 2048: a power of two below 4096.",
                    File("small-2048", small_text, lambda k: [symmetric_stanza("small-2048/0", k, KMS)],
                         chunk_size=2048).bytes, [KMS], MALFORMED))
    v.append(reject("reject-chunk-size-too-large", "Chunk size 2097152: a power of two above 1048576.",
                    File("small-2m", small_text, lambda k: [symmetric_stanza("small-2m/0", k, KMS)],
                         chunk_size=2097152).bytes, [KMS], MALFORMED))
    v.append(reject("reject-zero-recipients", "Recipient count 0 and no stanzas.",
                    File("none", small_text, []).bytes, [KMS], MALFORMED))
    keys33 = [SymmetricIdentity("recipient-%d" % i) for i in range(33)]
    v.append(reject("reject-thirty-three-recipients",
                    "33 well-formed key-file stanzas (the limit is 32); the identity opens the first.",
                    File("thirty-three", small_text,
                         lambda k: [symmetric_stanza("thirty-three/%d" % i, k, key) for i, key in enumerate(keys33)]).bytes,
                    [keys33[0]], MALFORMED))
    v.append(reject("reject-unknown-stanza-type",
                    "A stanza of type 4 (64-byte body) before a valid key-file stanza: unknown types are an error, "
                    "not skipped.",
                    File("unknown-type", small_text,
                         lambda k: [(4, det("unknown-type/body", 64)), symmetric_stanza("unknown-type/1", k, KMS)]).bytes,
                    [KMS], MALFORMED))
    v.append(reject("reject-stanza-body-too-long",
                    "A key-file stanza whose body is 65 bytes (one extra byte); it must be exactly 64.",
                    File("long-body", small_text,
                         lambda k: [(SYMMETRIC_STANZA, symmetric_stanza("long-body/0", k, KMS)[1] + b"\x00")]).bytes,
                    [KMS], MALFORMED))
    v.append(reject("reject-x25519-stanza-with-key-file-length",
                    "A stanza typed X25519 (1) with a 64-byte body (type 1 must be exactly 80), before a valid "
                    "key-file stanza that the identity opens: a structural error aborts, whatever the identities.",
                    File("typed-x25519", small_text,
                         lambda k: [(X25519_STANZA, symmetric_stanza("typed-x25519/0", k, KMS)[1]),
                                    symmetric_stanza("typed-x25519/1", k, KMS)]).bytes,
                    [KMS], MALFORMED))
    v.append(reject("reject-passphrase-with-another-recipient",
                    "A passphrase stanza followed by a key-file stanza; a passphrase stanza must be the only one.",
                    File("pass-and-key", small_text,
                         lambda k: [passphrase_stanza("pass-and-key/0", k, PASSPHRASE, passes, memory),
                                    symmetric_stanza("pass-and-key/1", k, KMS)]).bytes,
                    [KMS], MALFORMED))
    v.append(reject("reject-two-passphrase-stanzas",
                    "Two passphrase stanzas for the same passphrase.",
                    File("two-passphrases", small_text,
                         lambda k: [passphrase_stanza("two-passphrases/0", k, PASSPHRASE, passes, memory),
                                    passphrase_stanza("two-passphrases/1", k, PASSPHRASE, passes, memory)]).bytes,
                    [PASSPHRASE], MALFORMED))

    def argon2_out_of_range(name, description, t, m):
        # The wrapped key is made with in-range parameters, then the declared ones replaced:
        # a reader must refuse before running Argon2id with them.
        def stanzas(k):
            kind, body = passphrase_stanza(name + "/0", k, PASSPHRASE, passes, memory)
            return [(kind, body[:16] + struct.pack(">II", t, m) + body[24:])]
        v.append(reject(name, description, File(name, small_text, stanzas).bytes, [PASSPHRASE], MALFORMED))

    argon2_out_of_range("reject-argon2-memory-too-large", "Argon2id memory 1048577 KiB (the limit is 1048576).", passes, 1048577)
    argon2_out_of_range("reject-argon2-memory-too-small", "Argon2id memory 7 KiB (the minimum is 8).", passes, 7)
    argon2_out_of_range("reject-argon2-zero-passes", "Argon2id passes 0 (1 to 16).", 0, memory)
    argon2_out_of_range("reject-argon2-too-many-passes", "Argon2id passes 17 (1 to 16).", 17, memory)

    for point in ["zero", "one", "order-8", "non-canonical-p"]:
        name = "reject-x25519-low-order-%s" % point
        v.append(reject(name,
                        "An X25519 stanza whose ephemeral key is a low-order point (%s): the shared secret is all "
                        "zeros. The file key is wrapped under the key that all-zero secret gives, so only the "
                        "all-zero check refuses it." % point,
                        File(name, small_text, lambda k, p=point: [low_order_x25519_stanza(LOW_ORDER_POINTS[p], k, ALICE)]).bytes,
                        [ALICE], MALFORMED))
    v.append(reject("reject-x25519-low-order-before-opening-stanza",
                    "A low-order X25519 stanza (u = 1) before a valid stanza for the same key: trying it aborts the "
                    "decryption; it is not skipped in favour of the next stanza.",
                    File("low-order-before", small_text,
                         lambda k: [low_order_x25519_stanza(LOW_ORDER_POINTS["one"], k, ALICE),
                                    x25519_stanza("low-order-before/1", k, ALICE)]).bytes,
                    [ALICE], MALFORMED))

    v.append(reject("reject-truncated-in-fixed-header", "The file ends after 30 bytes, inside the fixed header fields.",
                    base.bytes[:30], [KMS], MALFORMED))
    v.append(reject("reject-truncated-in-stanza", "The file ends 10 bytes into the first stanza's body.",
                    base.bytes[:47 + 3 + 10], [KMS], MALFORMED))
    v.append(reject("reject-truncated-in-header-mac", "The file ends one byte before the end of the header MAC.",
                    base.bytes[:header - 1], [KMS], MALFORMED))

    # ---- authentication failures (exit 1)
    v.append(reject("reject-truncated-after-header", "The header is complete and intact, but no chunk follows.",
                    base.bytes[:header], [KMS], AUTHENTICATION))
    v.append(reject("reject-header-mac-flipped", "One bit of the header MAC flipped.",
                    flip(base.bytes, header - 1), [KMS], AUTHENTICATION))
    v.append(reject("reject-header-salt-flipped", "One bit of the header salt flipped (the MAC no longer matches).",
                    flip(base.bytes, 14), [KMS], AUTHENTICATION))
    v.append(reject("reject-header-chunk-size-changed",
                    "The chunk size changed from 4096 to 8192 (a valid value) without recomputing the header MAC.",
                    base.bytes[:10] + struct.pack(">I", 8192) + base.bytes[14:], [KMS], AUTHENTICATION))
    dup = bytearray(base.bytes[:header - 32])
    dup[46] = 2
    dup += base.bytes[47:47 + 67] + base.bytes[header - 32:]
    v.append(reject("reject-stanza-duplicated",
                    "The key-file stanza copied a second time and the recipient count raised to 2, without "
                    "recomputing the header MAC.", bytes(dup), [KMS], AUTHENTICATION))
    other = File("small-other", small_text, lambda k: [symmetric_stanza("small-other/0", k, KMS)])
    v.append(reject("reject-stanza-from-another-file",
                    "The key-file stanza replaced by the stanza of another file made for the same key: it unwraps "
                    "that file's key, which fails this header's MAC.",
                    base.bytes[:47] + other.bytes[47:47 + 67] + base.bytes[47 + 67:], [KMS], AUTHENTICATION))

    three = File("three", text("three", 2 * c + 100), lambda k: [symmetric_stanza("three/0", k, KMS)])
    r = [three.chunk_range(i) for i in range(3)]
    data = three.bytes
    v.append(reject("reject-truncated-final-chunk", "The last byte of the final chunk removed.",
                    data[:-1], [KMS], AUTHENTICATION))
    v.append(reject("reject-final-chunk-shorter-than-tag", "The final chunk cut to 10 bytes (less than a tag).",
                    data[:r[2][0] + 10], [KMS], AUTHENTICATION))
    v.append(reject("reject-final-chunk-dropped",
                    "The file ends after chunk 1 (a full chunk sealed as not final); the final chunk is missing.",
                    data[:r[1][1]], [KMS], AUTHENTICATION))
    v.append(reject("reject-chunks-reordered", "Chunks 0 and 1 swapped.",
                    data[:r[0][0]] + data[r[1][0]:r[1][1]] + data[r[0][0]:r[0][1]] + data[r[2][0]:], [KMS], AUTHENTICATION))
    v.append(reject("reject-chunk-dropped", "Chunk 1 removed (chunk 2 now sits at index 1).",
                    data[:r[1][0]] + data[r[2][0]:], [KMS], AUTHENTICATION))
    v.append(reject("reject-chunk-duplicated", "Chunk 0 copied over chunk 1.",
                    data[:r[1][0]] + data[r[0][0]:r[0][1]] + data[r[2][0]:], [KMS], AUTHENTICATION))
    v.append(reject("reject-chunk-tag-flipped", "One bit of chunk 1's tag flipped.",
                    flip(data, r[1][1] - 1), [KMS], AUTHENTICATION))
    v.append(reject("reject-chunk-ciphertext-flipped", "One bit of chunk 0's ciphertext flipped.",
                    flip(data, r[0][0]), [KMS], AUTHENTICATION))
    v.append(reject("reject-trailing-byte", "One zero byte appended after the final chunk.",
                    data + b"\x00", [KMS], AUTHENTICATION))
    v.append(reject("reject-trailing-chunk-copy", "A copy of chunk 0 appended after the final chunk.",
                    data + data[r[0][0]:r[0][1]], [KMS], AUTHENTICATION))
    v.append(reject("reject-chunk-from-another-file",
                    "Chunk 1 replaced by chunk 1 of another file encrypted to the same key file, same plaintext.",
                    data[:r[1][0]] + File("three-other", three.plaintext, lambda k: [symmetric_stanza("three-other/0", k, KMS)])
                    .bytes[r[1][0]:r[1][1]] + data[r[2][0]:], [KMS], AUTHENTICATION))

    # Files whose chunks are each correctly sealed, but with the wrong STREAM flags.
    plain = three.plaintext
    v.append(reject("reject-last-chunk-flag-missing",
                    "Every chunk, the final one included, sealed with last-chunk flag 00.",
                    File("three", plain, lambda k: [symmetric_stanza("three/0", k, KMS)],
                         chunks=[(0, plain[:c], False), (1, plain[c:2 * c], False), (2, plain[2 * c:], False)]).bytes,
                    [KMS], AUTHENTICATION))
    v.append(reject("reject-last-chunk-flag-early",
                    "Chunk 1 (a full chunk) sealed with the last-chunk flag, followed by chunk 2 also flagged last.",
                    File("three", plain, lambda k: [symmetric_stanza("three/0", k, KMS)],
                         chunks=[(0, plain[:c], False), (1, plain[c:2 * c], True), (2, plain[2 * c:], True)]).bytes,
                    [KMS], AUTHENTICATION))
    exact_plain = exact.plaintext
    v.append(reject("reject-empty-final-chunk-after-full-chunk",
                    "8192 bytes sealed as two full chunks flagged not-final and an empty third chunk flagged final "
                    "(a correctly sealed 16-byte tag): an empty chunk is only allowed as the only chunk.",
                    File("exact", exact_plain, lambda k: [symmetric_stanza("exact/0", k, KMS)],
                         chunks=[(0, exact_plain[:c], False), (1, exact_plain[c:], False), (2, b"", True)]).bytes,
                    [KMS], AUTHENTICATION))
    v.append(reject("reject-empty-plaintext-flag-missing",
                    "An empty plaintext whose single empty chunk is sealed with last-chunk flag 00.",
                    File("empty", b"", lambda k: [symmetric_stanza("empty/0", k, KMS)], chunks=[(0, b"", False)]).bytes,
                    [KMS], AUTHENTICATION))
    v.append(reject("reject-chunk-counter-skipped",
                    "Chunks sealed with counters 0 and 2 (1 skipped), the second flagged last.",
                    File("exact", exact_plain, lambda k: [symmetric_stanza("exact/0", k, KMS)],
                         chunks=[(0, exact_plain[:c], False), (2, exact_plain[c:], True)]).bytes,
                    [KMS], AUTHENTICATION))

    # ---- no identity opens the file (exit 1)
    v.append(reject("reject-wrong-symmetric-key", "A key file that is not a recipient.",
                    base.bytes, [OTHER_KMS], NO_IDENTITY))
    v.append(reject("reject-wrong-x25519-key", "An X25519 key that is not a recipient.",
                    x25519_one.bytes, [CAROL], NO_IDENTITY))
    v.append(reject("reject-identity-of-another-type", "An X25519 key for a file encrypted to a key file only.",
                    base.bytes, [ALICE], NO_IDENTITY))
    v.append(reject("reject-wrong-passphrase", "A different passphrase.",
                    passphrase.bytes, [PassphraseIdentity(b"correct horse battery stapler")], NO_IDENTITY))
    v.append(reject("reject-passphrase-normalised",
                    "The file of valid-passphrase-exact-bytes (NFD passphrase) tried with the same text in composed "
                    "form (NFC): different bytes, a different passphrase.",
                    unicode_pw.bytes, [PASSPHRASE_NFC], NO_IDENTITY))
    v.append(reject("reject-wrapped-file-key-flipped",
                    "One bit of the key-file stanza's wrapped file key (its tag) flipped: the stanza no longer opens "
                    "with the key, so no identity matches.",
                    flip(base.bytes, 47 + 3 + 64 - 1), [KMS], NO_IDENTITY))

    return v


def render(vector):
    ordered = {"schema": SCHEMA}
    ordered.update(vector)
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the files on disk; write nothing")
    args = parser.parse_args()
    vectors = build_vectors()
    names = [vector["name"] for vector in vectors]
    assert len(names) == len(set(names)), "duplicate vector names"
    wanted = {os.path.join(HERE, name + ".json"): render(vector) for name, vector in zip(names, vectors)}
    present = set(glob.glob(os.path.join(HERE, "*.json")))
    if args.check:
        problems = ["missing or different: %s" % os.path.basename(path) for path, content in sorted(wanted.items())
                    if not os.path.exists(path) or open(path, encoding="utf-8").read() != content]
        problems += ["not written by the generator: %s" % os.path.basename(p) for p in sorted(present - set(wanted))]
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    for path in present - set(wanted):
        os.remove(path)
    for path, content in wanted.items():
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(content)
    print("wrote %d vectors (%d valid, %d must-reject) to %s" % (
        len(vectors), sum(x["expected"]["result"] == OK for x in vectors),
        sum(x["expected"]["result"] != OK for x in vectors), HERE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
