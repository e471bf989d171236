"""The generated cases: benign files, known-malicious files and mutants.

`make_case(seed, index)` is a pure function of its arguments: the same seed
and index give the same bytes on every run (random.Random seeded with a
string is stable across processes and Python versions 3.2+).

A case is one directory. In the `file` layout the scanner is given the model
file itself; in the `dir` layout it walks the directory (where extension and
magic-byte rules decide what is read). The loaders always open `main`.
"""

import collections
import datetime
import decimal
import os
import pickle
import random
import re
from dataclasses import dataclass, field

from . import containers as C
from . import mutate, payloads
from .pickles import Call, write

MALICIOUS_CONTAINERS = [
    "raw", "raw-embedded", "raw-second-stream", "torch-zip", "torch-zip-case", "torch-zip-duplicate",
    "torch-zip-hidden-eocd", "torch-zip-local-name", "torch-zip-comment-signatures", "torch-legacy",
    "legacy-tar", "npy-object", "npz-object", "npz-no-suffix", "npz-hidden-eocd", "joblib-object", "joblib-void",
    "joblib-ndarraywrapper", "joblib-ndarraywrapper-outside",
]

# descr literals numpy reads as object dtypes (np.load unpickles the payload)
OBJECT_DESCRS = [
    "'|O'", "'O'", "'<O'", "'O8'", "'|O8'", "'object'", "'f8,O'", "'(1,)O'", "'(2,)O'", "'i4,(1,)O'",
    "[('a', '|O')]", "[('a', '<f8'), ('b', '|O')]", "[('a', '|O', (2,))]", "[('a', [('b', '|O')])]",
    "[('x', '<i8'), ('y', [('z', 'O')])]", "'O,f4'", "[('', '|O')]", "'object_'",
]
NUMERIC_DESCRS = ["'<f4'", "'<f8'", "'<i8'", "'|u1'", "'|b1'", "'<i2'", "'<c8'", "'>f4'", "'|S4'", "'<U3'",
                  "[('a', '<f4'), ('b', '<i4')]", "'<M8[s]'", "'(2,)<f4'", "'|V8'"]
MODEL_NAMES = ["model.pkl", "model.pt", "pytorch_model.bin", "model.pth", "weights.ckpt", "model.joblib",
               "arrays.npz", "array.npy", "model.safetensors", "model.pth.tar", "checkpoint.tar", "model",
               "model.data", "data.dat", "weights.h5", "model.pickle", "model.PKL", "MODEL.PT", "x.mar"]


@dataclass
class Case:
    """One generated model (a directory of files) and what the harness knows about it."""

    index: int
    kind: str  # benign | malicious | mutant
    family: str
    files: dict = field(default_factory=dict)  # relative path -> bytes
    main: str = "model.bin"
    layout: str = "file"  # file: scan the main file; dir: scan the case directory
    effect_expected: bool = False  # a malicious case whose payload must fire in some loader


class Context:
    """What payload builders need: nested files built from other payloads."""

    def __init__(self, protocol_rng):
        self.rng = protocol_rng

    def plain_pickle(self, value, rng) -> bytes:
        return write(value, rng.randint(0, 5), rng)

    def torch_zip_with(self, value, rng) -> bytes:
        return C.torch_zip(write(value, rng.choice([2, 2, 3, 4, 5]), rng))


# ----------------------------------------------------------- benign values
def benign_value(rng, depth=0):
    kinds = ["int", "float", "str", "bytes", "none", "bool", "list", "tuple", "dict"]
    if depth < 3:
        kinds += ["list", "dict", "tuple", "set", "ordered", "complex", "bytearray", "decimal", "datetime",
                  "frozenset", "deque", "counter", "defaultdict"]
    k = rng.choice(kinds)
    if k == "int":
        return rng.choice([0, 1, -1, 255, 256, 65535, 2**31, -(2**31) - 1, 2**70, rng.randint(-10**6, 10**6)])
    if k == "float":
        return rng.choice([0.0, -1.5, 1e300, float(rng.randint(0, 1000)) / 7])
    if k == "str":
        return rng.choice(["", "weight", "layer.0.bias", "naïve", "日本", "a\nb", "os", "system", "\\x"])
    if k == "bytes":
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
    if k == "none":
        return None
    if k == "bool":
        return rng.random() < 0.5
    if k in ("list", "tuple", "set", "frozenset", "deque"):
        items = [benign_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        if k in ("set", "frozenset"):
            items = [i for i in items if isinstance(i, (int, str, bytes, float, type(None), bool))]
        return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset,
                "deque": collections.deque}[k](items)
    if k in ("dict", "ordered", "counter", "defaultdict"):
        d = {f"k{i}": benign_value(rng, depth + 1) for i in range(rng.randint(0, 4))}
        if k == "ordered":
            return collections.OrderedDict(d)
        if k == "counter":
            return collections.Counter({key: rng.randint(0, 9) for key in d})
        if k == "defaultdict":
            return collections.defaultdict(list, d)
        return d
    if k == "complex":
        return complex(rng.randint(-5, 5), rng.randint(-5, 5))
    if k == "bytearray":
        return bytearray(rng.randrange(256) for _ in range(rng.randint(0, 10)))
    if k == "decimal":
        return decimal.Decimal(rng.randint(-999, 999)) / 8
    return datetime.datetime(2020, 1, 1) + datetime.timedelta(seconds=rng.randint(0, 10**8))


def numpy_array(rng, allow_object=True):
    import numpy as np

    n = rng.randint(0, 6)
    k = rng.choice(["f4", "f8", "i8", "u1", "b1", "c8", "S3", "U2", "struct", "2d", "M8"] +
                   (["object"] if allow_object else []))
    if k == "object":
        return np.array([benign_value(rng, 2) for _ in range(n)] + [None], dtype=object)
    if k == "struct":
        return np.zeros(n, dtype=[("a", "<f4"), ("b", "<i4", (2,))])
    if k == "2d":
        return np.arange(n * 3, dtype="<f4").reshape(n, 3)
    if k == "M8":
        return np.array([rng.randint(0, 10**9)] * n, dtype="datetime64[s]")
    if k in ("S3", "U2"):
        return np.array(["ab"] * n, dtype=k)
    return (np.arange(n) % 2).astype(k)


def torch_state(rng):
    import torch

    state = collections.OrderedDict()
    for i in range(rng.randint(1, 4)):
        n = rng.randint(0, 6)
        dtype = rng.choice([torch.float32, torch.float64, torch.int64, torch.uint8, torch.bool, torch.float16,
                            torch.bfloat16, torch.int32])
        t = torch.tensor([rng.randint(0, 3) for _ in range(n)]).to(dtype)
        if rng.random() < 0.2 and n >= 2:
            t = t[1:]  # a view with a storage offset
        state[f"layer{i}.weight"] = t
    if rng.random() < 0.3:
        state["param"] = torch.nn.Parameter(torch.ones(2))
    if rng.random() < 0.3:
        return {"state_dict": state, "epoch": rng.randint(0, 99), "meta": benign_value(rng, 2)}
    return state


def _benign(rng, index):
    import numpy as np

    k = rng.choice(["pickle", "pickle", "pickle-multi", "pickle-numpy", "pickle-tensor", "torch-zip", "torch-zip",
                    "torch-legacy", "legacy-tar", "npy", "npy", "npy-object", "npz", "npz-compressed", "joblib",
                    "joblib", "joblib-compressed", "safetensors"])
    p = rng.randint(0, 5)
    case = Case(index, "benign", f"benign:{k}")
    if k == "pickle":
        data = pickle.dumps(benign_value(rng), protocol=p)
    elif k == "pickle-multi":
        data = b"".join(pickle.dumps(benign_value(rng), protocol=rng.randint(0, 5)) for _ in range(rng.randint(2, 3)))
    elif k == "pickle-numpy":
        data = pickle.dumps({"a": numpy_array(rng), "b": np.float32(1.5), "c": np.dtype("f4")}, protocol=max(p, 2))
    elif k == "pickle-tensor":
        data = _stable_keys(pickle.dumps(torch_state(rng), protocol=max(p, 2)))
    elif k == "torch-zip":
        data = C.torch_save(torch_state(rng), protocol=rng.choice([2, 2, 3, 4, 5]))
    elif k == "torch-legacy":
        data = C.torch_legacy(torch_state(rng), protocol=rng.choice([2, 2, 3, 4]))
    elif k == "legacy-tar":
        data = C.legacy_tar(C.legacy_tar_members(rng, protocol=rng.choice([2, 2, 3, 4])))
    elif k == "npy":
        data = C.np_save(numpy_array(rng, allow_object=False))
    elif k == "npy-object":
        data = C.np_save(numpy_array(rng))
    elif k in ("npz", "npz-compressed"):
        members = [(f"arr_{i}.npy", C.np_save(numpy_array(rng))) for i in range(rng.randint(1, 3))]
        data = C.npz(members, compressed=k == "npz-compressed")
    elif k == "joblib":
        data = C.joblib_dump({"w": numpy_array(rng), "v": numpy_array(rng), "x": benign_value(rng, 2)},
                             protocol=rng.choice([None, 2, 3, 4, 5]))
    elif k == "joblib-compressed":
        data = C.joblib_dump({"w": numpy_array(rng)}, compress=(rng.choice(["zlib", "gzip", "bz2", "lzma", "xz"]), 3))
    else:
        t = {}
        for i in range(rng.randint(0, 3)):
            dt = rng.choice(list(C.SAFETENSORS_DTYPES))
            n = rng.randint(0, 4)
            t[f"t{i}"] = (dt, (n,), bytes(n * C.SAFETENSORS_DTYPES[dt]))
        data = C.safetensors(t, {"format": "pt"} if rng.random() < 0.5 else None)
    case.files = {"model.bin": data}
    case.main = "model.bin"
    return case


def _stable_keys(data: bytes) -> bytes:
    """pickle.dumps(tensor) nests a legacy torch.save whose storage keys are memory addresses;
    give them fixed values of the same length so the bytes depend on the seed only."""
    keys = {}

    def fixed(m):
        key = keys.setdefault(m.group(0), str(len(keys) + 1).encode())
        return key.rjust(len(m.group(0)), b"7")

    return re.sub(rb"\d{10,20}", fixed, data)


def _embed(payload, rng):
    """The payload somewhere inside an ordinary-looking checkpoint structure."""
    where = rng.randint(0, 3)
    if where == 0:
        return payload
    if where == 1:
        return {"state_dict": {"w": 1.5, "b": payload}, "epoch": 3}
    if where == 2:
        return [1, 2, (payload,)]
    return Call("collections", "OrderedDict", ([("a", 1), ("b", payload)],))


def _malicious(rng, index, ctx):
    family = rng.choice(sorted(payloads.FAMILIES))
    container = rng.choice(MALICIOUS_CONTAINERS)
    payload = payloads.FAMILIES[family](rng, ctx)
    p = rng.randint(0, 5)
    case = Case(index, "malicious", f"malicious:{family}@{container}", effect_expected=True)
    files = {}
    main = "model.bin"
    if container == "raw":
        data = write(payload, p, rng)
    elif container == "raw-embedded":
        data = write(_embed(payload, rng), p, rng)
    elif container == "raw-second-stream":
        data = pickle.dumps(benign_value(rng), protocol=p) + write(payload, rng.randint(0, 5), rng)
    elif container.startswith("torch-zip"):
        evil = write(_embed(payload, rng), rng.choice([2, 2, 3, 4, 5]), rng)
        good = C.torch_save(torch_state(rng))
        good_pkl = pickle.dumps({"w": 1.0}, protocol=2)
        if container == "torch-zip":
            data = C.torch_zip(evil, prefix=rng.choice(["archive", "model", "x"]))
        elif container == "torch-zip-case":
            name = rng.choice(["DATA.PKL", "Data.pkl", "data.PKL", "data.Pkl"])
            extra = [C.ZipEntry(b"archive/other.pkl", good_pkl)] if rng.random() < 0.5 else []
            data = C.torch_zip(evil, pkl_name=name, extra=extra)
        elif container == "torch-zip-duplicate":
            dup = [C.ZipEntry(b"archive/data.pkl", good_pkl)]
            data = C.torch_zip(evil, extra=dup) if rng.random() < 0.5 else \
                C.build_zip(dup + [C.ZipEntry(b"archive/data.pkl", evil), C.ZipEntry(b"archive/version", b"3\n")])
        elif container == "torch-zip-hidden-eocd":
            visible = [C.ZipEntry(b"archive/data.pkl", good_pkl), C.ZipEntry(b"archive/version", b"3\n")]
            hidden = [C.ZipEntry(b"archive/data.pkl", evil), C.ZipEntry(b"archive/version", b"3\n")]
            data = C.zip_with_hidden_directory(visible, hidden)
        elif container == "torch-zip-local-name":
            data = C.build_zip([C.ZipEntry(b"archive/data.bin", evil, local_name=b"archive/data.pkl"),
                                C.ZipEntry(b"archive/data.pkl", good_pkl), C.ZipEntry(b"archive/version", b"3\n")])
        else:  # comment holding signatures
            comment = b"PK\x01\x02" + b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(8))
            data = C.build_zip([C.ZipEntry(b"archive/data.pkl", evil), C.ZipEntry(b"archive/version", b"3\n")],
                               comment=comment)
        del good
    elif container == "torch-legacy":
        slot = rng.choice([0, 1, 2, 3, 4])
        data = C.torch_legacy(torch_state(rng), replace={slot: write(_embed(payload, rng), rng.choice([2, 3, 4]), rng)})
    elif container == "legacy-tar":
        member = rng.choice(["main", "storages", "tensors"])
        evil = write(payload, rng.choice([2, 3, 4]), rng)
        data = C.legacy_tar(C.legacy_tar_members(rng, **{member: evil}))
        main = rng.choice(["model.pth.tar", "checkpoint.tar", "model.pth", "model.bin", "model"])
        case.layout = rng.choice(["dir", "dir", "file"])
    elif container == "npz-hidden-eocd":
        # what numpy (Python's zipfile: the last end-of-central-directory record) reads is not the visible archive
        names = [f"arr_{i}.npy" for i in range(rng.randint(1, 2))]
        visible = [C.ZipEntry(n.encode(), C.np_save(numpy_array(rng, allow_object=False))) for n in names]
        hidden = [C.ZipEntry(n.encode(), C.npy_header("'|O'", (1,)) + write([_embed(payload, rng)], 2, rng))
                  for n in names]
        data = C.zip_with_hidden_directory(visible, hidden)
    elif container in ("npy-object", "npz-object", "npz-no-suffix"):
        descr = rng.choice(OBJECT_DESCRS) if rng.random() < 0.7 else "'|O'"
        npy = C.npy_header(descr, (1,), version=rng.choice([(1, 0), (2, 0), (3, 0)])) + \
            write([_embed(payload, rng)], rng.randint(2, 5), rng)
        if container == "npy-object":
            data = npy
        else:
            name = "x.npy" if container == "npz-object" else rng.choice(["x", "x.bin", "x.NPY", "weights", "x.npy/"])
            members = [("a.npy", C.np_save(numpy_array(rng, allow_object=False))), (name, npy)]
            data = C.npz(members, compressed=rng.random() < 0.3)
    elif container == "joblib-object":
        dt = C.numpy_dtype("O8", (3, "|", None, None, None, -1, -1, 63))
        nested = write([_embed(payload, rng)], rng.randint(2, 5), rng)
        data = C.joblib_wrapper(dt, (1,), nested, rng.choice([2, 3, 4]), rng)
    elif container == "joblib-void":
        nested = write(_embed(payload, rng), rng.randint(2, 5), rng)
        flags = rng.choice([63, 1, 0x3F, 0x09])
        dt = C.numpy_dtype(f"V{len(nested)}", (3, "|", None, None, None, len(nested), 1, flags))
        data = C.joblib_wrapper(dt, (1,), nested, rng.choice([2, 3, 4]), rng)
    else:  # joblib NDArrayWrapper: numpy.load(dirname/filename, allow_pickle=True)
        outside = container.endswith("outside")
        sidecar = rng.choice(["README.txt", "weights.bin", "arr.npy", "config.json", "notes"])
        target = rng.choice(["../" + sidecar, "/etc/hostname", "../../x.npy"]) if outside else sidecar
        data = C.ndarray_wrapper(target, rng.choice([2, 3, 4]), rng)
        if not outside:
            blob = write(payload, rng.choice([0, 1, 2]), rng) if rng.random() < 0.5 else \
                C.npy_header("'|O'", (1,)) + write([payload], 2, rng)
            files[sidecar] = blob
        main = rng.choice(["model.pkl", "model.joblib", "model.bin"])
        case.layout = "dir"
    files[main] = data
    case.files = files
    case.main = main
    if case.layout == "file" and rng.random() < 0.15:
        case.layout = "dir"
    return case


def make_case(seed: int, index: int) -> Case:
    """The case number `index` of run `seed`."""
    rng = random.Random(f"modelsec-differential/{seed}/{index}")
    ctx = Context(rng)
    roll = rng.random()
    if roll < 0.30:
        case = _benign(rng, index)
    elif roll < 0.55:
        case = _malicious(rng, index, ctx)
    else:
        base = _benign(rng, index) if rng.random() < 0.6 else _malicious(rng, index, ctx)
        case = mutate.mutate_case(base, rng, ctx)
    if case.layout == "dir" or rng.random() < 0.1:
        # a realistic name: the directory walk decides by extension and magic bytes
        if case.main == "model.bin" and len(case.files) == 1:
            name = rng.choice(MODEL_NAMES)
            case.files = {name: case.files[case.main]}
            case.main = name
        case.layout = "dir" if case.layout == "dir" or rng.random() < 0.5 else "file"
    return case


def write_case(case: Case, root) -> None:
    """Writes the case's files under `root` (a new directory)."""
    os.makedirs(root, exist_ok=True)
    for rel, data in case.files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

