"""Random mutations of generated files: bytes, pickle opcodes, zip structure, .npy headers.

A mutant has no expected effect: it counts only if the scanner passes it and
a real loader then does something the guard records. Structure-aware
mutations rebuild their container (zip CRCs, .npy padding) so that the
mutation reaches the parser behind the container instead of failing a checksum.
"""

import io
import pickletools
import re
import zipfile

from . import containers as C
from . import payloads
from .pickles import snippet, write

INTERESTING = [0x00, 0xFF, 0x7F, 0x80, 0x0A, 0x2E, 0x28, 0x63, 0x93, 0x94, 0x95, 0x52, 0x62, 0x81, 0x8C, 0x58]
OPCODES = [b"N", b"0", b"(", b"t", b")", b"R", b"b", b"1", b"2", b"\x85", b"\x94", b"\x93", b"]", b"}", b"e",
           b"s", b"u", b"l", b"d", b"a", b"\x88", b"\x89", b"K\x01", b"h\x00", b"q\x00", b"\x8c\x02os",
           b"\x8c\x06system", b"cos\nsystem\n", b"cbuiltins\neval\n", b"\x80\x02", b"\x95" + bytes(8), b"."]


def _opcode_positions(data: bytes):
    positions = []
    try:
        for _, _, pos in pickletools.genops(data):
            positions.append(pos)
    except Exception:
        pass
    return positions


def _bytes_mutation(data: bytes, rng, ctx) -> tuple[bytes, str]:
    if not data:
        return bytes([rng.randrange(256)]), "grow"
    op = rng.choice(["flip", "flip", "set", "truncate", "append", "prepend", "splice", "duplicate", "delete"])
    b = bytearray(data)
    if op == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif op == "set":
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.choice(INTERESTING)
    elif op == "truncate":
        del b[rng.randrange(len(b)):]
    elif op == "append":
        b += rng.choice([write(payloads.FAMILIES["os.system"](rng, ctx), rng.randint(0, 5), rng),
                         bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))), b"PK\x05\x06" + bytes(18)])
    elif op == "prepend":
        b[0:0] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif op == "splice":
        chunk = write(payloads.FAMILIES[rng.choice(sorted(payloads.FAMILIES))](rng, ctx), rng.randint(0, 5), rng)
        i = rng.randrange(len(b) + 1)
        if rng.random() < 0.5:
            b[i:i] = chunk
        else:
            b[i:i + len(chunk)] = chunk
    elif op == "duplicate":
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randint(1, 64))
        b[j:j] = b[i:j]
    else:
        i = rng.randrange(len(b))
        del b[i:i + rng.randint(1, 16)]
    return bytes(b), op


def _pickle_mutation(data: bytes, rng, ctx) -> tuple[bytes, str] | None:
    positions = _opcode_positions(data)
    if len(positions) < 2:
        return None
    pos = rng.choice(positions[1:])  # after PROTO/first opcode
    if rng.random() < 0.5:
        family = rng.choice(sorted(payloads.FAMILIES))
        proto = data[1] if data[:1] == b"\x80" and data[1] <= 5 else 0
        insert = snippet(payloads.FAMILIES[family](rng, ctx), proto, rng)
        return data[:pos] + insert + data[pos:], f"insert-payload:{family}"
    insert = rng.choice(OPCODES)
    if rng.random() < 0.3:
        # replace one opcode byte instead of inserting
        return data[:pos] + insert + data[pos + 1:], "replace-opcode"
    return data[:pos] + insert + data[pos:], "insert-opcode"


def _npy_mutation(data: bytes, rng, ctx) -> tuple[bytes, str] | None:
    if not data.startswith(b"\x93NUMPY") or len(data) < 10:
        return None
    major = data[6]
    hlen = int.from_bytes(data[8:10], "little") if major == 1 else int.from_bytes(data[8:12], "little")
    start = 10 if major == 1 else 12
    header = data[start:start + hlen].decode("latin-1", "replace")
    body = data[start + hlen:]
    m = re.search(r"'descr': (.*?), 'fortran_order'", header)
    if not m:
        return None
    from .corpus import NUMERIC_DESCRS, OBJECT_DESCRS

    descr = rng.choice(OBJECT_DESCRS + NUMERIC_DESCRS)
    if rng.random() < 0.5:
        body = write([payloads.FAMILIES[rng.choice(sorted(payloads.FAMILIES))](rng, ctx)], rng.randint(2, 5), rng)
    shape = rng.choice([(1,), (0,), (2,), (1, 1), ()])
    version = rng.choice([(1, 0), (2, 0), (3, 0)])
    return C.npy_header(descr, shape, version=version) + body, f"npy-descr:{descr}"


def _zip_mutation(data: bytes, rng, ctx) -> tuple[bytes, str] | None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        entries = [C.ZipEntry(i.filename.encode("utf-8"), zf.read(i), i.compress_type if i.compress_type in (0, 8) else 0)
                   for i in zf.infolist()]
    except Exception:
        return None
    if not entries:
        return None
    op = rng.choice(["rename-case", "rename-suffix", "duplicate", "drop", "method", "reorder", "comment",
                     "comment-signatures", "prepend", "local-name", "hidden-eocd", "member", "member", "member",
                     "add-member"])
    e = rng.choice(entries)
    comment = b""
    prepend = b""
    if op == "rename-case":
        e.name = e.name.swapcase() if rng.random() < 0.5 else e.name.upper()
    elif op == "rename-suffix":
        stem = e.name.rsplit(b".", 1)[0]
        e.name = stem + rng.choice([b"", b".bin", b".npy", b".pkl", b".PKL", b".pickle", b"/", b".npy.x"])
    elif op == "duplicate":
        entries.insert(rng.randrange(len(entries) + 1), C.ZipEntry(e.name, rng.choice([e.data, _evil_for(e, rng, ctx)])))
    elif op == "drop" and len(entries) > 1:
        entries.remove(e)
    elif op == "method":
        e.method = 8 if e.method == 0 else 0
        if rng.random() < 0.3:
            e.local_method = rng.choice([0, 8, 12, 14, 99])
    elif op == "reorder":
        rng.shuffle(entries)
    elif op == "comment":
        comment = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
    elif op == "comment-signatures":
        comment = rng.choice([b"PK\x05\x06", b"PK\x01\x02", b"PK\x03\x04", b"PK\x06\x06"]) + bytes(rng.randint(0, 30))
    elif op == "prepend":
        prepend = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif op == "local-name":
        e.local_name = rng.choice([e.name.upper(), e.name + b"x", b"archive/data.pkl"])
    elif op == "hidden-eocd":
        hidden = [C.ZipEntry(x.name, _evil_for(x, rng, ctx) if x is e else x.data, x.method) for x in entries]
        return C.zip_with_hidden_directory(entries, hidden), "zip:hidden-eocd"
    elif op == "add-member":
        name = rng.choice([b"archive/extra.pkl", b"x", b"x.npy", b"archive/DATA.PKL", b"../x.pkl", b"/abs.pkl"])
        entries.append(C.ZipEntry(name, _evil_for(e, rng, ctx)))
    else:
        inner = mutate_bytes(e.data, rng, ctx)
        e.data = inner[0]
        op = f"member:{inner[1]}"
    return C.build_zip(entries, comment=comment, prepend=prepend), f"zip:{op}"


def _evil_for(entry, rng, ctx) -> bytes:
    """Malicious content of the same kind as `entry` (an .npy member stays an .npy)."""
    payload = payloads.FAMILIES[rng.choice(sorted(payloads.FAMILIES))](rng, ctx)
    if entry.data.startswith(b"\x93NUMPY"):
        return C.npy_header("'|O'", (1,)) + write([payload], 2, rng)
    return write(payload, rng.choice([2, 3, 4]), rng)


def mutate_bytes(data: bytes, rng, ctx) -> tuple[bytes, str]:
    """One mutation, structure-aware when the bytes allow it."""
    for _ in range(3):
        roll = rng.random()
        if data[:2] == b"PK" and roll < 0.6:
            r = _zip_mutation(data, rng, ctx)
        elif data.startswith(b"\x93NUMPY") and roll < 0.5:
            r = _npy_mutation(data, rng, ctx)
        elif roll < 0.45:
            r = _pickle_mutation(data, rng, ctx)
        else:
            r = None
        if r is not None:
            return r
    return _bytes_mutation(data, rng, ctx)


def mutate_case(base, rng, ctx):
    """`base` with 1 to 3 mutations applied to one of its files."""
    target = base.main if rng.random() < 0.85 or len(base.files) == 1 else rng.choice(sorted(base.files))
    data = base.files[target]
    ops = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        data, op = mutate_bytes(data, rng, ctx)
        ops.append(op)
    base.files[target] = data
    base.kind = "mutant"
    base.family = f"mutant:{'+'.join(ops)}<-{base.family}"
    base.effect_expected = False
    return base
