import Foundation
import XCTest
import TestSupport

/// Builds the malicious and benign samples with Python (pickle, zipfile,
/// numpy, safetensors) in a temporary directory. Nothing is ever unpickled:
/// the script only dumps, and os.system is only *named* by __reduce__.
enum ScannerFixtures {
    /// The directory holding the samples (built once per test run).
    static func directory() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let built { return built }
        let python = try TestSupport.python()
        let dir = try TestSupport.makeTemporaryDirectory("scanner-fixtures")
        let result = try TestSupport.run(python, ["-c", script, dir.path])
        guard result.status == 0 else {
            throw FixtureError(message: "fixture script failed: \(result.stderrText)")
        }
        built = dir
        return dir
    }

    struct FixtureError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var built: URL?

    static let script = #"""
import collections, io, os, pickle, struct, sys, types, zipfile
import numpy as np
from safetensors.numpy import save_file

out = sys.argv[1]
def path(name): return os.path.join(out, name)

class Evil:
    def __reduce__(self):
        return (os.system, ("echo owned",))

for protocol in (0, 2, 4, 5):
    with open(path(f"evil_p{protocol}.pkl"), "wb") as f:
        pickle.dump(Evil(), f, protocol=protocol)

# Stand-ins for torch's globals, so the pickles name the real torch functions
# and storages without torch being installed.
torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
torch._utils = utils
sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils
def _rebuild_tensor_v2(*args): raise RuntimeError("never called")
_rebuild_tensor_v2.__module__ = "torch._utils"; utils._rebuild_tensor_v2 = _rebuild_tensor_v2
class FloatStorage: pass
FloatStorage.__module__ = "torch"; FloatStorage.__qualname__ = "FloatStorage"; torch.FloatStorage = FloatStorage
class Storage:
    def __init__(self, key, numel): self.key, self.numel = key, numel
class Tensor:
    def __init__(self, storage, shape): self.storage, self.shape = storage, shape
    def __reduce_ex__(self, protocol):
        stride = (self.shape[1], 1)
        return (_rebuild_tensor_v2, (self.storage, 0, self.shape, stride, False, collections.OrderedDict()))
class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None

def state_dict(evil=False):
    d = collections.OrderedDict()
    d["layer.weight"] = Tensor(Storage("0", 4), (2, 2))
    d["layer.bias"] = Tensor(Storage("1", 2), (1, 2))
    if evil:
        d["layer.extra"] = Evil()
    return d

def torch_pickle(evil=False):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(state_dict(evil))
    return buf.getvalue()

with open(path("state_dict.pkl"), "wb") as f:
    f.write(torch_pickle())

def torch_zip(name, evil=False, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path(name), "w", compression=compression) as z:
        z.writestr("archive/data.pkl", torch_pickle(evil))
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/data/0", struct.pack("<4f", 1, 2, 3, 4))
        z.writestr("archive/data/1", struct.pack("<2f", 5, 6))
        z.writestr("archive/version", "3\n")

torch_zip("model.pt")
torch_zip("model_deflated.pth", compression=zipfile.ZIP_DEFLATED)
torch_zip("pytorch_model.bin", evil=True)
torch_zip("evil_deflated.ckpt", evil=True, compression=zipfile.ZIP_DEFLATED)

np.save(path("objects.npy"), np.array([collections.OrderedDict(a=1), "text", None], dtype=object), allow_pickle=True)
np.save(path("evil_objects.npy"), np.array([Evil(), 1], dtype=object), allow_pickle=True)
np.save(path("floats.npy"), np.arange(12, dtype=np.float32).reshape(3, 4))
np.savez_compressed(path("evil.npz"), weights=np.ones(100, dtype=np.float64), evil=np.array([Evil()], dtype=object))
np.savez(path("benign.npz"), weights=np.ones(10, dtype=np.int16), labels=np.array(["a", "b"], dtype=object))

# Legacy (pre-1.6) torch.save layout: magic, protocol, sys info, object, storage keys, raw data.
def legacy(name, evil):
    with open(path(name), "wb") as f:
        for obj in (0x1950a86a20f9469cfc6c, 1001, {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(obj, f, protocol=2)
        TorchPickler(f, protocol=2).dump(state_dict(evil))
        pickle.dump(["0", "1"], f, protocol=2)
        f.write(struct.pack("<q4f", 4, 1, 2, 3, 4) + struct.pack("<q2f", 2, 5, 6))
legacy("legacy.pt", False)
legacy("legacy_evil.pt", True)

# A large numeric npz member (deflated) next to a small one: only headers are needed.
np.savez_compressed(path("large.npz"), big=np.arange(3_000_000, dtype=np.int64), small=np.ones(3))

# joblib: arrays are written inline, raw, after the NumpyArrayWrapper's BUILD.
import joblib
class Estimator:
    pass
Estimator.__module__ = "sklearn.linear_model._base"; Estimator.__qualname__ = "LinearRegression"
est_mod = types.ModuleType("sklearn.linear_model._base"); est_mod.LinearRegression = Estimator
for name in ("sklearn", "sklearn.linear_model"): sys.modules[name] = types.ModuleType(name)
sys.modules["sklearn.linear_model._base"] = est_mod
model = Estimator()
model.coef_ = np.linspace(0, 1, 7)
model.intercept_ = np.float64(0.5)
model.n_features_in_ = 7
model.feature_names_in_ = np.array(["a", "b", "c", "d", "e", "f", "g"], dtype=object)
model.labels_ = np.array(["x", "yy"], dtype="<U2")
model.matrix_ = np.arange(12, dtype=np.int32).reshape(3, 4)
joblib.dump(model, path("model.joblib"))
joblib.dump({"weights": np.ones(5), "hook": np.array([Evil()], dtype=object)}, path("evil.joblib"))

# A global on neither list.
sys.modules["mylib"] = types.ModuleType("mylib")
helpers = types.ModuleType("mylib.helpers"); sys.modules["mylib.helpers"] = helpers
class Thing: pass
Thing.__module__ = "mylib.helpers"; helpers.Thing = Thing
with open(path("unknown_global.pkl"), "wb") as f:
    pickle.dump([Thing], f, protocol=2)

# A legacy (tar) torch checkpoint as old torch.save wrote it: tarfile in PAX format adding real files.
import tarfile, tempfile
with tarfile.open(path("legacy.pth.tar"), "w:", format=tarfile.PAX_FORMAT) as tar:
    for name, data in (("sys_info", pickle.dumps({"protocol_version": 1001}, protocol=2)),
                       ("pickle", torch_pickle()),
                       ("storages", pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2)),
                       ("tensors", pickle.dumps(0, protocol=2))):
        with tempfile.NamedTemporaryFile(delete=False) as tmp:
            tmp.write(data)
        tar.add(tmp.name, arcname=name)
        os.remove(tmp.name)

save_file({"embedding": np.arange(12, dtype=np.float32).reshape(3, 4), "bias": np.zeros(5, dtype=np.float16)},
          path("model.safetensors"), metadata={"format": "np"})

with open(path("raw-deflate.bin"), "wb") as f:
    import zlib, random
    random.seed(7)
    data = bytes(random.choice(b"abcdefgh \n") for _ in range(50000)) + bytes(range(256)) * 40
    for level in (0, 1, 6, 9):
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        blob = c.compress(data) + c.flush()
        f.write(struct.pack("<II", len(blob), len(data)) + blob)
    with open(path("raw-deflate.plain"), "wb") as p:
        p.write(data)
"""#
}
