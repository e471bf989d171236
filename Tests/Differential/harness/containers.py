"""Byte-exact writers for the model containers the real loaders read.

Everything is deterministic (fixed zip dates, fixed tar metadata, no ids from
memory addresses), so a seed names the same bytes on every run. The zip writer
is our own, so that its structure can be bent on purpose (names in the local
header that differ from the central directory, duplicates, comments, a second
end-of-central-directory record).
"""

import io
import struct
import tarfile
import zlib
from dataclasses import dataclass

from . import pickles

TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
TORCH_LEGACY_PROTOCOL = 1001


# ---------------------------------------------------------------- zip
@dataclass
class ZipEntry:
    """One member; `local_name` (if set) is written in the local header instead of `name`."""

    name: bytes
    data: bytes
    method: int = 0  # 0 stored, 8 deflate
    local_name: bytes | None = None
    flags: int = 0
    local_method: int | None = None


def _compress(data: bytes, method: int) -> bytes:
    if method == 8:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()
    return data


def zip_parts(entries, base_offset: int = 0):
    """(local records bytes, central directory bytes, entry count) with offsets from `base_offset`."""
    local = bytearray()
    central = bytearray()
    for e in entries:
        payload = _compress(e.data, e.method)
        crc = zlib.crc32(e.data) & 0xFFFFFFFF
        lname = e.name if e.local_name is None else e.local_name
        lmethod = e.method if e.local_method is None else e.local_method
        offset = base_offset + len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, e.flags, lmethod, 0, 0x21,
                             crc, len(payload), len(e.data), len(lname), 0) + lname + payload
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, e.flags, e.method, 0, 0x21,
                               crc, len(payload), len(e.data), len(e.name), 0, 0, 0, 0, 0, offset) + e.name
    return bytes(local), bytes(central), len(entries)


def eocd(count: int, cd_size: int, cd_offset: int, comment: bytes = b"", comment_len: int | None = None) -> bytes:
    n = len(comment) if comment_len is None else comment_len
    return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, cd_size, cd_offset, n) + comment


def build_zip(entries, comment: bytes = b"", prepend: bytes = b"") -> bytes:
    """A well-formed zip (optionally with bytes before it, offsets not adjusted: a self-extractor style prefix)."""
    local, central, count = zip_parts(entries, base_offset=len(prepend))
    return prepend + local + central + eocd(count, len(central), len(prepend) + len(local), comment)


def zip_with_hidden_directory(visible, hidden) -> bytes:
    """A zip whose real EOCD (with a comment) lists `visible`, and whose comment holds `hidden`
    entries, their central directory and a second EOCD: the last `PK\\x05\\x06` in the file."""
    local, central, count = zip_parts(visible)
    head = local + central
    real_eocd_len = 22
    comment_start = len(head) + real_eocd_len
    hlocal, hcentral, hcount = zip_parts(hidden, base_offset=comment_start)
    hidden_dir_offset = comment_start + len(hlocal)
    comment = hlocal + hcentral + eocd(hcount, len(hcentral), hidden_dir_offset)
    return head + eocd(count, len(central), len(local), comment)


# -------------------------------------------------------------- torch
def torch_zip(data_pkl: bytes, storages: dict | None = None, prefix: str = "archive",
              pkl_name: str = "data.pkl", extra=(), method: int = 0) -> bytes:
    """The layout torch.save writes: PREFIX/data.pkl, byteorder, data/KEY, version."""
    entries = [ZipEntry(f"{prefix}/{pkl_name}".encode(), data_pkl, method)]
    entries.append(ZipEntry(f"{prefix}/byteorder".encode(), b"little"))
    for key, blob in (storages or {}).items():
        entries.append(ZipEntry(f"{prefix}/data/{key}".encode(), blob))
    entries.append(ZipEntry(f"{prefix}/version".encode(), b"3\n"))
    entries.append(ZipEntry(f"{prefix}/.data/version".encode(), b"3\n"))
    entries.extend(extra)
    return build_zip(entries)


def torch_save(obj, protocol: int = 2) -> bytes:
    """torch.save (new zip format) into memory; deterministic for the same object."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf, pickle_protocol=protocol)
    return buf.getvalue()


class _LegacyPickler:
    """The persistent ids torch's legacy (pre-1.6) writer gives storages, with stable keys."""

    def __init__(self, protocol: int):
        import pickle

        import torch

        self.torch = torch
        self.protocol = protocol
        self.storages = {}
        outer = self

        class P(pickle.Pickler):
            def persistent_id(self, obj):
                return outer.persistent_id(obj)

        self.pickler_class = P

    def persistent_id(self, obj):
        torch = self.torch
        if isinstance(obj, torch.storage.TypedStorage):
            key = None
            for k, (s, _) in self.storages.items():
                if s is obj or s._cdata == obj._cdata:
                    key = k
            if key is None:
                key = str(len(self.storages))
                self.storages[key] = (obj, obj.dtype)
            storage_type = getattr(torch, obj._pickle_storage_type())
            return ("storage", storage_type, key, "cpu", obj._size(), None)
        return None

    def dumps(self, obj) -> bytes:
        buf = io.BytesIO()
        self.pickler_class(buf, protocol=self.protocol).dump(obj)
        return buf.getvalue()


def torch_legacy(obj, protocol: int = 2, replace: dict | None = None) -> bytes:
    """The pre-1.6 torch.save format: five pickles then raw storages. `replace` maps a
    stream index (0 magic, 1 protocol, 2 sys_info, 3 object, 4 storage keys) to other bytes."""
    import pickle

    import torch

    lp = _LegacyPickler(protocol)
    main = lp.dumps(obj)
    keys = sorted(lp.storages)
    streams = [
        pickle.dumps(TORCH_LEGACY_MAGIC, protocol=protocol),
        pickle.dumps(TORCH_LEGACY_PROTOCOL, protocol=protocol),
        pickle.dumps({"protocol_version": TORCH_LEGACY_PROTOCOL, "little_endian": True,
                      "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=protocol),
        main,
        pickle.dumps(keys, protocol=protocol),
    ]
    for index, data in (replace or {}).items():
        streams[index] = data
    out = b"".join(streams)
    for key in keys:
        storage, dtype = lp.storages[key]
        raw = bytes(storage._untyped_storage.tolist())
        element = torch._utils._element_size(dtype)
        out += struct.pack("<q", len(raw) // element) + raw
    return out


def legacy_tar(members: dict) -> bytes:
    """A tar checkpoint (torch before 0.4 wrote these); members in the given order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def legacy_tar_members(rng, protocol: int = 2, main: bytes | None = None, storages: bytes | None = None,
                       tensors: bytes | None = None) -> dict:
    """Members of a benign legacy tar holding one float tensor, any of which may be replaced."""
    import pickle

    import torch

    n = rng.randint(1, 6)
    values = struct.pack(f"<{n}f", *[float(rng.randint(-9, 9)) for _ in range(n)])
    st = io.BytesIO()
    st.write(pickle.dumps(1, protocol=protocol))
    st.write(pickle.dumps((1, "cpu", torch.FloatStorage), protocol=protocol))
    st.write(struct.pack("<q", n) + values)
    st.write(pickle.dumps([], protocol=protocol))
    te = io.BytesIO()
    te.write(pickle.dumps(1, protocol=protocol))
    te.write(pickle.dumps((2, 1, torch.FloatTensor), protocol=protocol))
    te.write(struct.pack("<i", 1) + b"\0\0\0\0" + struct.pack("<q", n) + struct.pack("<q", 1) + struct.pack("<q", 0))

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return "2" if obj is _TENSOR else None

    mp = io.BytesIO()
    P(mp, protocol=protocol).dump({"weight": _TENSOR, "epoch": rng.randint(0, 99)})
    return {
        "sys_info": pickle.dumps({"protocol_version": TORCH_LEGACY_PROTOCOL, "little_endian": True,
                                  "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=protocol),
        "storages": st.getvalue() if storages is None else storages,
        "tensors": te.getvalue() if tensors is None else tensors,
        "pickle": mp.getvalue() if main is None else main,
    }


class _Placeholder:
    pass


_TENSOR = _Placeholder()


# --------------------------------------------------------------- numpy
def npy_header(descr_literal: str, shape: tuple, fortran: bool = False, version=(1, 0)) -> bytes:
    """The .npy preamble with `descr_literal` written verbatim (Python literal text)."""
    shape_text = repr(tuple(shape))
    text = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr_literal, fortran, shape_text)
    raw = text.encode("latin-1")
    size_len = 2 if version[0] == 1 else 4
    preamble = 6 + 2 + size_len
    pad = (64 - (preamble + len(raw) + 1) % 64) % 64
    raw = raw + b" " * pad + b"\n"
    size = struct.pack("<H", len(raw)) if size_len == 2 else struct.pack("<I", len(raw))
    return b"\x93NUMPY" + bytes(version) + size + raw


def np_save(array, allow_pickle: bool = True) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def npz(members, compressed: bool = False) -> bytes:
    """An .npz (zip of .npy members) as numpy.savez writes it, with fixed dates."""
    return build_zip([ZipEntry(name.encode(), data, 8 if compressed else 0) for name, data in members])


# -------------------------------------------------------------- joblib
def joblib_dump(value, compress=0, protocol=None) -> bytes:
    import joblib

    buf = io.BytesIO()
    joblib.dump(value, buf, compress=compress, protocol=protocol)
    data = buf.getvalue()
    if data[:2] == b"\x1f\x8b":  # gzip: zero the mtime so the bytes are reproducible
        data = data[:4] + b"\0\0\0\0" + data[8:]
    return data


def joblib_wrapper(dtype_value, shape: tuple, nested: bytes, protocol: int, rng,
                   alignment: bool = False, allow_mmap: bool = False) -> bytes:
    """A joblib stream: one NumpyArrayWrapper whose array bytes (`nested`) follow its BUILD."""
    w = pickles.Writer(protocol, rng)
    state = {"subclass": pickles.Global("numpy", "ndarray"), "shape": shape, "order": "C",
             "dtype": dtype_value, "allow_mmap": allow_mmap}
    if alignment:
        state["numpy_array_alignment_bytes"] = 16
    w.value(pickles.New("joblib.numpy_pickle", "NumpyArrayWrapper", (), state))
    head = b"\x80" + bytes([protocol]) if protocol >= 2 else b""
    return head + bytes(w.out) + nested + pickles.STOP


def numpy_dtype(code: str, state: tuple):
    """numpy.dtype(code, False, True) with BUILD `state`, as numpy pickles a dtype."""
    return pickles.Call("numpy", "dtype", (code, False, True), state=state, has_state=True)


def ndarray_wrapper(filename: str, protocol: int, rng) -> bytes:
    """joblib <= 0.9: NDArrayWrapper(filename) makes joblib.load call numpy.load(dirname/filename)."""
    w = pickles.Writer(protocol, rng)
    state = {"filename": filename, "subclass": pickles.Global("numpy", "ndarray"), "allow_mmap": False}
    w.value(pickles.New("joblib.numpy_pickle", "NDArrayWrapper", (), state))
    head = b"\x80" + bytes([protocol]) if protocol >= 2 else b""
    return head + bytes(w.out) + pickles.STOP


# --------------------------------------------------------- safetensors
SAFETENSORS_DTYPES = {"F32": 4, "F64": 8, "I64": 8, "I32": 4, "U8": 1, "F16": 2, "BF16": 2, "BOOL": 1, "I8": 1}


def safetensors(tensors: dict, metadata: dict | None = None) -> bytes:
    """name -> (dtype, shape, data bytes); tiles data in name order."""
    import json

    header = {}
    offset = 0
    body = bytearray()
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        body += data
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(body)
