"""A loader worker: loads model files with the real loaders under the audit guard.

Run as `python -m harness.worker JOB_FD RESULT_FD SCRATCH`. Jobs arrive as
JSON lines on JOB_FD: {"id", "path", "root", "fork"}; each answer is JSON
lines on RESULT_FD: zero or more {"id", "event": {...}} (written the moment
the hook fires, so a loader that kills the process cannot hide them) and one
{"id", "done": true, "loaders": {...}, "globals": [...], "restart": bool}.

"fork": true runs the job in a forked child (the warm process stays
untouched); it is used for files the scanner already flagged, loaded only to
prove that the harness sees their effect. Other jobs run in the worker
itself; a job that changed one of the functions the guard relies on, or whose
loader timed out or ran out of memory, asks for a restart.
"""

import json
import os
import resource
import signal
import sys
import tempfile
import warnings

from .guard import Guard

LOADER_SECONDS = 5
MEMORY_HEADROOM = 3 << 30


class LoaderTimeout(BaseException):
    """Raised by SIGALRM when one loader call runs too long."""


def _loaders():
    import pickle

    import joblib
    import numpy as np
    import safetensors.torch  # noqa: F401  (imported before the guard is armed)
    import torch

    def pickle_load(path):
        with open(path, "rb") as f:
            for _ in range(16):  # every stream in the file, as a loop of pickle.load would
                if not f.peek(1):
                    break
                pickle.load(f)

    def numpy_load(path):
        r = np.load(path, allow_pickle=True)
        if isinstance(r, np.lib.npyio.NpzFile):
            with r:
                for key in r.files:
                    r[key]

    def joblib_load(path):
        joblib.load(path)

    def torch_load_unsafe(path):
        torch.load(path, weights_only=False, map_location="cpu")

    def torch_load_default(path):
        torch.load(path, map_location="cpu")

    def safetensors_load(path):
        import safetensors.torch

        safetensors.torch.load_file(path)

    return {"pickle.load": pickle_load, "numpy.load": numpy_load, "joblib.load": joblib_load,
            "torch.load(weights_only=False)": torch_load_unsafe, "torch.load()": torch_load_default,
            "safetensors.load_file": safetensors_load}


def _watched():
    """Functions whose identity must not change between jobs (a load could rebind them)."""
    import builtins
    import io
    import pickle
    import posix
    import subprocess

    import joblib
    import numpy
    import torch

    pairs = [(builtins, n) for n in ("exec", "eval", "compile", "__import__", "open", "getattr")]
    pairs += [(posix, "system"), (os, "system"), (os, "open"), (subprocess, "Popen"), (io, "open"),
              (pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (numpy, "load"), (joblib, "load"),
              (torch, "load"), (sys, "addaudithook"), (sys, "modules")]
    return [(obj, name, getattr(obj, name)) for obj, name in pairs]


def _warm_up(loaders, scratch):
    """Imports and first-use work of every loader, done before the guard is armed."""
    import argparse
    import collections
    import datetime
    import decimal
    import fractions
    import importlib
    import pickle
    import random
    import uuid

    import numpy as np
    import torch

    from . import containers as C

    # Modules the allowlisted globals live in, and what they import lazily on first use
    # (numpy.random imports `secrets` the first time a generator is unpickled, for example).
    for name in ("numpy.random", "numpy.random._pickle", "numpy.ma", "numpy._core.multiarray", "numpy.dtypes",
                 "torch._tensor", "torch._utils", "torch.storage", "torch.nn.parameter", "torch.nn.modules",
                 "torch._weights_only_unpickler", "joblib.numpy_pickle", "joblib.numpy_pickle_compat",
                 "safetensors.torch", "safetensors.numpy"):
        importlib.import_module(name)
    objects = [np.random.RandomState(1), np.random.default_rng(1), np.ma.masked_array([1, 2], mask=[0, 1]),
               decimal.Decimal("1.5"), fractions.Fraction(1, 3), uuid.UUID(int=1), argparse.Namespace(a=1),
               datetime.datetime(2020, 1, 1), datetime.timedelta(1), collections.Counter("ab"),
               collections.deque([1]), collections.defaultdict(list), torch.Size([2]), torch.device("cpu"),
               torch.float16, torch.nn.Parameter(torch.ones(1)), np.float32(1), np.dtype([("a", "<f4")])]
    rng = random.Random(0)
    samples = {
        **{f"obj{i}-{p}.pkl": pickle.dumps(o, protocol=p) for i, o in enumerate(objects) for p in (0, 2, 5)},
        "p.pkl": pickle.dumps({"a": np.arange(3), "b": collections.OrderedDict(), "t": torch.ones(2)}),
        "t.pt": C.torch_save({"w": torch.ones(2), "p": torch.nn.Parameter(torch.zeros(1))}),
        "l.pt": C.torch_legacy({"w": torch.ones(2)}),
        "tar.pt": C.legacy_tar(C.legacy_tar_members(rng)),
        "a.npy": C.np_save(np.arange(4.0)),
        "o.npy": C.np_save(np.array([1, "x", None], dtype=object)),
        "z.npz": C.npz([("a.npy", C.np_save(np.arange(3))), ("b.npy", C.np_save(np.array([1], dtype=object)))], True),
        "j.joblib": C.joblib_dump({"a": np.arange(3), "o": np.array([None], dtype=object)}),
        "jz.joblib": C.joblib_dump({"a": np.arange(3)}, compress=("zlib", 3)),
        "s.safetensors": C.safetensors({"t": ("F32", (1,), bytes(4))}),
    }
    for name, data in samples.items():
        path = os.path.join(scratch, name)
        with open(path, "wb") as f:
            f.write(data)
        for load in loaders.values():
            try:
                load(path)
            except Exception:
                pass
        os.unlink(path)


def _run_job(job, guard, loaders):
    outcomes = {}
    guard.root = os.path.realpath(job["root"])
    guard.events = []
    guard.globals = []
    for name, load in loaders.items():
        signal.setitimer(signal.ITIMER_REAL, LOADER_SECONDS)
        guard.armed = True
        try:
            load(job["path"])
            outcome = "ok"
        except LoaderTimeout:
            outcome = "timeout"
        except MemoryError:
            outcome = "memory"
        except BaseException as e:  # SystemExit and friends from hostile code are outcomes too
            outcome = "error:" + type(e).__name__
        finally:
            guard.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
        outcomes[name] = outcome
    return outcomes


def main() -> None:
    job_fd, result_fd, scratch = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    sys.dont_write_bytecode = True
    warnings.simplefilter("ignore")
    cwd, writable = os.path.join(scratch, "cwd"), os.path.join(scratch, "tmp")
    os.makedirs(cwd, exist_ok=True)
    os.makedirs(writable, exist_ok=True)
    os.chdir(cwd)
    os.environ["TMPDIR"] = writable
    tempfile.tempdir = writable
    out = os.fdopen(result_fd, "w", buffering=1)
    current = {"id": None}

    def report(record):
        out.write(json.dumps({"id": current["id"], "event": record}) + "\n")
        out.flush()

    guard = Guard(scratch, writable, report)
    guard.install()
    loaders = _loaders()
    _warm_up(loaders, scratch)
    watched = _watched()

    def on_alarm(signum, frame):
        raise LoaderTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    soft = _vm_size() + MEMORY_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (soft, soft))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()

    for line in os.fdopen(job_fd, "r"):
        job = json.loads(line)
        current["id"] = job["id"]
        if job.get("fork"):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                try:
                    os.close(r)
                    outcomes = _run_job(job, guard, loaders)
                    os.write(w, json.dumps({"loaders": outcomes, "globals": guard.globals[:50]}).encode())
                finally:
                    os._exit(0)
            os.close(w)
            _, status = os.waitpid(pid, 0)
            with os.fdopen(r, "rb") as f:
                answer = f.read()
            result = json.loads(answer) if answer else {"loaders": {"fork": f"crash:{status}"}, "globals": []}
            out.write(json.dumps({"id": job["id"], "done": True, "restart": False, **result}) + "\n")
            out.flush()
            continue
        outcomes = _run_job(job, guard, loaders)
        tampered = [f"{getattr(o, '__name__', o)}.{n}" for o, n, v in watched if getattr(o, n, None) is not v]
        # A blocked effect did not happen; a changed function or a stuck loader could taint the next job.
        restart = bool(tampered) or any(o in ("timeout", "memory") for o in outcomes.values())
        out.write(json.dumps({"id": job["id"], "done": True, "loaders": outcomes, "globals": guard.globals[:50],
                              "tampered": tampered, "restart": restart}) + "\n")
        out.flush()
        if restart:
            return


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    main()
