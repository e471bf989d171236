"""Writes the minimal reproducers (one directory each) next to this file.

Run from Tests/Differential with the harness venv:
  ../../.build/venvs/differential/bin/python -m reproducers.build
Each directory holds the model (and any file it names) and a case.json:
main (the file the loaders open), layout (file: scan the file; dir: scan the
directory), class, item (issue #13 item), loader (the real loader that runs
the payload). Payloads are harmless: `true`, `pass`.
`run.sh --reproducers` scans and loads them all.
"""

import json
import os
import random
import shutil

from harness import containers as C
from harness.pickles import Call, write

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM = Call("os", "system", ("true",))


def stream(value, protocol=2, seed=0, frame=False):
    """A pickle stream with the plainest spelling (seeded, so the bytes never change)."""
    return write(value, protocol, random.Random(seed), frame=frame)


def object_npy(descr, value=SYSTEM):
    return C.npy_header(descr, (1,)) + stream([value])


def cases():
    import torch  # noqa: F401  (containers.torch_zip needs no torch; torch_save below does)

    evil_zip = C.torch_zip(stream(SYSTEM))
    yield "npy-descr-object", "file", "model.npy", {"model.npy": object_npy("'object'")}, 2, \
        "numpy.load(allow_pickle=True)", ".npy whose descr 'object' is an object dtype (the header check misses it)"
    yield "npy-descr-structured", "file", "model.npy", {"model.npy": object_npy("'f8,O'")}, 2, \
        "numpy.load(allow_pickle=True)", ".npy whose descr 'f8,O' is a structured dtype with an object field"
    yield "npy-descr-subarray", "file", "model.npy", {"model.npy": object_npy("'(1,)O'")}, 2, \
        "numpy.load(allow_pickle=True)", ".npy whose descr '(1,)O' is a sub-array of objects"
    yield "npz-member-without-npy-suffix", "file", "model.npz", \
        {"model.npz": C.npz([("a.npy", C.np_save(__import__("numpy").arange(3))), ("x", object_npy("'|O'"))])}, 3, \
        "numpy.load(...)['x']", ".npz member 'x' (no .npy suffix) that starts with the NUMPY magic"
    visible = [C.ZipEntry(b"a.npy", C.np_save(__import__("numpy").arange(3)))]
    hidden = [C.ZipEntry(b"a.npy", object_npy("'|O'"))]
    yield "npz-second-eocd-in-comment", "file", "model.npz", {"model.npz": C.zip_with_hidden_directory(visible, hidden)}, \
        4, "numpy.load(...)['a']", "zip whose comment holds a second central directory and EOCD (Python's zipfile reads it)"
    visible = [C.ZipEntry(b"archive/data.pkl", stream({"w": 1.0})), C.ZipEntry(b"archive/version", b"3\n")]
    hidden = [C.ZipEntry(b"archive/data.pkl", stream(SYSTEM)), C.ZipEntry(b"archive/version", b"3\n")]
    yield "torch-zip-second-eocd-in-comment", "file", "pytorch_model.bin", \
        {"pytorch_model.bin": C.zip_with_hidden_directory(visible, hidden)}, 4, "torch.load(weights_only=False)", \
        "PyTorch zip whose comment holds a second central directory (torch's reader takes the last EOCD too)"
    yield "torch-zip-upper-case-data-pkl", "file", "pytorch_model.bin", \
        {"pytorch_model.bin": C.torch_zip(stream(SYSTEM), pkl_name="DATA.PKL",
                                          extra=[C.ZipEntry(b"archive/other.pkl", stream({"w": 1.0}))])}, 5, \
        "torch.load(weights_only=False)", "archive/DATA.PKL: torch finds data.pkl case-insensitively"
    yield "torch-load-from-bytes", "file", "model.pkl", \
        {"model.pkl": stream(Call("torch.storage", "_load_from_bytes", (evil_zip,)), protocol=3)}, 6, \
        "pickle.load / torch.load", "allowlisted torch.storage._load_from_bytes(b) is torch.load(b, weights_only=False)"
    nested = stream(SYSTEM)
    dtype = C.numpy_dtype(f"V{len(nested)}", (3, "|", None, None, None, len(nested), 1, 63))
    yield "joblib-void-dtype-object-flag", "file", "model.joblib", \
        {"model.joblib": C.joblib_wrapper(dtype, (1,), nested, 2, random.Random(0))}, 7, "joblib.load", \
        "NumpyArrayWrapper dtype V<n> whose state sets the object flag: joblib unpickles the 'raw' bytes"
    yield "joblib-ndarraywrapper-sidecar", "dir", "model.pkl", \
        {"model.pkl": C.ndarray_wrapper("README.txt", 2, random.Random(0)), "README.txt": stream(SYSTEM, protocol=0)}, \
        8, "joblib.load", "NDArrayWrapper makes joblib call numpy.load('README.txt', allow_pickle=True)"
    yield "joblib-ndarraywrapper-outside", "dir", "model.pkl", \
        {"model.pkl": C.ndarray_wrapper("/etc/hostname", 2, random.Random(0))}, 8, "joblib.load", \
        "NDArrayWrapper naming a file outside the model (absolute path): joblib opens it with numpy.load"
    tar = C.legacy_tar(C.legacy_tar_members(random.Random(0), main=stream(SYSTEM)))
    yield "legacy-tar-in-directory", "dir", "model.pth.tar", {"model.pth.tar": tar}, 9, \
        "torch.load(weights_only=False)", "legacy torch tar checkpoint, skipped by the directory walk"
    yield "walk-skips-protocol-0-pickle", "dir", "weights.h5", {"weights.h5": stream(SYSTEM, protocol=0)}, 9, \
        "torch.load / pickle.load", "protocol 0 pickle under a name without a model extension: skipped by the walk"
    yield "suspicious-only-doctest-debug-script", "file", "model.pkl", \
        {"model.pkl": stream(Call("doctest", "debug_script", ("pass",)))}, 10, "pickle.load", \
        "doctest.debug_script runs exec; the scanner reports it as suspicious only (bypass with --pass-suspicious)"


def main():
    for name in os.listdir(HERE):
        if os.path.isdir(os.path.join(HERE, name)) and not name.startswith("__"):
            shutil.rmtree(os.path.join(HERE, name))
    for name, layout, main_file, files, item, loader, text in cases():
        root = os.path.join(HERE, name)
        os.makedirs(root)
        for rel, data in files.items():
            with open(os.path.join(root, rel), "wb") as f:
                f.write(data)
        with open(os.path.join(root, "case.json"), "w") as f:
            json.dump({"main": main_file, "layout": layout, "item": item, "loader": loader, "class": text}, f,
                      indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
